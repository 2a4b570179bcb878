"""The core's forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from core.auth import MIN_PASSWORD_LENGTH
from core.models import ROLES

REQUIRED = _l("Ce champ est obligatoire.")
SLUG_RULE = _l("De 2 à 40 caractères : lettres minuscules, chiffres et tirets.")
URL_RULE = _l("Indiquez une adresse web complète (https://…).")


class Form(FlaskForm):
    """Base of every form of the core and the plugins: Flask-WTF's, with a CSRF token, whose
    hidden field has no ``id``. A page often holds several forms, and an id must name one
    element (HTML, RGAA 8.2); nothing refers to the token by its id."""

    class Meta:
        def render_field(self, field: Any, render_kw: dict[str, Any]) -> Any:
            if field.type == "CSRFTokenField":
                render_kw = {**render_kw, "id": False}  # WTForms leaves a False attribute out
            return super().render_field(field, render_kw)  # type: ignore[misc]


def role_choices() -> list[SelectChoice]:
    from core.i18n import role_label

    return [SelectChoice(key, role_label(key)) for key in ROLES]


class LoginForm(Form):
    email = EmailField(
        _l("Adresse e-mail"),
        [InputRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Mot de passe"),
        [InputRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class NewPasswordForm(Form):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        [
            InputRequired(REQUIRED),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Au moins %(n)d caractères.", n=MIN_PASSWORD_LENGTH),
            ),
        ],
        description=_l(
            "Au moins %(n)d caractères. Une phrase facile à retenir convient bien.",
            n=MIN_PASSWORD_LENGTH,
        ),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        [
            InputRequired(REQUIRED),
            EqualTo("password", message=_l("Les deux mots de passe diffèrent.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(
        _l("Prénom et nom"),
        [InputRequired(REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )


class ResetRequestForm(Form):
    email = EmailField(
        _l("Adresse e-mail"),
        [InputRequired(REQUIRED), Email(message=_l("Saisissez une adresse e-mail valide."))],
        render_kw={"autocomplete": "email"},
    )


class InviteForm(Form):
    email = EmailField(
        _l("Adresse e-mail de la personne"),
        [InputRequired(REQUIRED), Email(message=_l("Saisissez une adresse e-mail valide."))],
    )
    role = SelectField(_l("Rôle"), choices=role_choices, validate_choice=True)
    is_commune_admin = BooleanField(_l("Administrateur de la commune"))


class MemberForm(Form):
    role = SelectField(_l("Rôle"), choices=role_choices, validate_choice=True)
    is_commune_admin = BooleanField(_l("Administrateur de la commune"))


class ActionForm(Form):
    """A form with nothing but its CSRF token, for buttons that change something."""


class IdentityProviderForm(Form):
    """An OpenID Connect provider registered by the platform admin. The secret is never
    shown again: left empty on an edit, the stored one is kept."""

    slug = StringField(
        _l("Identifiant"),
        [InputRequired(REQUIRED), Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$", message=SLUG_RULE)],
        description=_l("Dans l’adresse de retour : lettres minuscules, chiffres, tirets."),
    )
    kind = SelectField(
        _l("Type"),
        choices=[
            SelectChoice("proconnect", "ProConnect"),
            SelectChoice("franceconnect", "FranceConnect"),
            SelectChoice("generic", _l("Autre fournisseur OpenID Connect")),
        ],
    )
    label = StringField(
        _l("Nom affiché"),
        [InputRequired(REQUIRED), Length(max=100)],
        description=_l("Sur le bouton : « S’identifier avec … »."),
    )
    discovery_url = URLField(
        _l("Adresse du document de découverte"),
        [InputRequired(REQUIRED), URL(require_tld=False, message=URL_RULE), Length(max=500)],
        description=_l("Elle se termine en général par /.well-known/openid-configuration."),
    )
    client_id = StringField(_l("Identifiant client"), [InputRequired(REQUIRED), Length(max=200)])
    client_secret = PasswordField(
        _l("Secret client"),
        [Length(max=500)],
        render_kw={"autocomplete": "new-password"},
    )
    scopes = StringField(
        _l("Portées demandées"),
        [Length(max=500)],
        description=_l("Séparées par des espaces ; vide : celles du type choisi."),
    )
    enabled = BooleanField(_l("Proposé sur la page de connexion"), default=True)


class ProveAccountForm(Form):
    """Prove an existing account is yours, before linking an identity to it: its password,
    or (``send_link``) a link e-mailed to it."""

    password = PasswordField(
        _l("Mot de passe de ce compte"), render_kw={"autocomplete": "current-password"}
    )
    send_link = SubmitField(_l("Recevoir un lien par e-mail"))


class ProviderForm(Form):
    provider = SelectField(_l("Fournisseur"), choices=[], validate_choice=False)

    def validate_provider(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError(REQUIRED)


class TotpCodeForm(Form):
    """The 6-digit code of an authenticator app."""

    code = StringField(
        _l("Code à 6 chiffres"),
        [InputRequired(REQUIRED), Length(max=20)],
        description=_l("Le code affiché en ce moment par votre application d'authentification."),
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 20},
    )


class RecoveryCodeForm(Form):
    """One of the recovery codes, when the phone is not at hand."""

    recovery_code = StringField(
        _l("Code de secours"),
        [InputRequired(REQUIRED), Length(max=40)],
        description=_l("Un des codes de secours notés à l'activation, par exemple abcde-fghjk."),
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class DisableTotpForm(Form):
    """Turning the second factor off takes a current code, or a recovery code."""

    code = StringField(
        _l("Code à 6 chiffres ou code de secours"),
        [InputRequired(REQUIRED), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "none"},
    )


class PersonalTokenForm(Form):
    """A personal access token: a name to recognise it, what it may do, how long it lasts."""

    name = StringField(
        _l("Nom du jeton"),
        [InputRequired(REQUIRED), Length(max=100)],
        description=_l("Pour le reconnaître, par exemple « Script du tableau de bord »."),
    )
    scopes = SelectMultipleField(
        _l("Ce que le jeton permet"),
        [InputRequired(_l("Cochez au moins une permission."))],
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    days = SelectField(
        _l("Durée de validité"),
        choices=[
            SelectChoice("30", _l("30 jours")),
            SelectChoice("90", _l("90 jours")),
            SelectChoice("365", _l("Un an")),
        ],
        default="90",
    )


class OAuthClientForm(Form):
    """An app that signs people in through Viatic, or calls its API for them, registered by
    the platform admin. Its type is chosen once; its secret is shown once."""

    name = StringField(
        _l("Nom de l'application"),
        [
            InputRequired(REQUIRED),
            Length(max=100),
            Regexp(r"^[^\x00-\x1f\x7f]*$", message=_l("Ce nom contient un caractère non permis.")),
        ],
        description=_l("Montré aux personnes quand l'application leur demande l'accès."),
    )
    kind = SelectField(
        _l("Type"),
        choices=[
            SelectChoice(
                "confidential", _l("Confidentielle : un serveur qui garde un secret (Chamilo…)")
            ),
            SelectChoice("public", _l("Publique : une application mobile, sans secret (PKCE)")),
        ],
        description=_l("Ne peut plus être changé ensuite."),
    )
    redirect_uris = TextAreaField(
        _l("Adresses de retour (redirect_uri)"),
        [InputRequired(REQUIRED), Length(max=4000)],
        description=_l("Une par ligne ; chacune est comparée exactement à celle de la demande."),
        render_kw={"rows": 3, "autocapitalize": "none", "spellcheck": "false"},
    )
    scopes = SelectMultipleField(
        _l("Portées que l'application peut demander"),
        choices=[],
        validate_choice=False,  # checked by validate_scopes, in French
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    enabled = BooleanField(
        _l("Active"),
        default=True,
        description=_l("Désactiver l'application révoque tous ses jetons."),
    )

    def redirect_uri_list(self) -> list[str]:
        lines = (line.strip() for line in (self.redirect_uris.data or "").splitlines())
        return list(dict.fromkeys(line for line in lines if line))

    def validate_scopes(self, field: SelectMultipleField) -> None:
        if not field.data:
            raise ValidationError(_l("Cochez au moins une portée."))
        known = {choice.value for choice in field.iter_choices()}
        unknown = [value for value in field.data or () if value not in known]
        if unknown:
            raise ValidationError(_l("Portée inconnue : %(scopes)s.", scopes=", ".join(unknown)))

    def validate_redirect_uris(self, field: TextAreaField) -> None:
        from core.oauth2 import redirect_uri_problem

        uris = self.redirect_uri_list()
        if not uris:
            raise ValidationError(REQUIRED)
        problems = [problem for uri in uris if (problem := redirect_uri_problem(uri))]
        if any(len(uri) > 500 for uri in uris):
            problems.append(str(_l("Une adresse compte au plus 500 caractères.")))
        if problems:
            raise ValidationError(" ".join(problems))
