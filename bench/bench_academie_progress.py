"""Progress sync of the Formations against the fake Chamilo: 5,000 enrolled officials × 20
courses, the way the scheduled job ``academie.progress`` runs it.

Chamilo's ``course_learnpaths`` reports the caller's own progress, so the sync makes one call
per (official, course), as that learner, over a pool of threads bounded by the commune's
setting (Chamilo servers are small). The script prints the wall time, the number of HTTP
requests and the requests per second, first for a sweep of the bound on a smaller commune,
then for the full size at the default bound. The fake is the test suite's
(tests/plugins/chamilo/fake_chamilo.py), served over HTTP on 127.0.0.1 by werkzeug's threaded
server: its own cost is part of the figures, as a small real server's would be.

    python bench/bench_academie_progress.py [--officials 5000] [--courses 20] [--no-sweep]
"""

from __future__ import annotations

import argparse
import logging
import random
import time

import _common

SWEEP_OFFICIALS = 250
SWEEP_BOUNDS = (1, 4, 8)


def populate(app, fake, url, insee, officials, courses, concurrency):
    """A commune with the Formations on the fake Chamilo, ``officials`` members each enrolled
    in ``courses`` courses and already provisioned (their Chamilo accounts exist)."""
    from sqlalchemy import insert, select

    from core import modules
    from core.db import db
    from core.models import Commune, CommuneModule, Membership, User
    from core.settings import encrypt
    from core.toolkit import Learner
    from plugins.academie import services
    from plugins.academie.models import ACTIVE, Course, Enrolment
    from plugins.chamilo.models import Account
    from plugins.chamilo.provider import loginname_of, profile_digest

    commune = Commune(insee=insee, name=f"Commune {insee}")
    db.add(commune)
    db.flush()
    modules.enable(commune, "chamilo")
    row = db.scalar(
        select(CommuneModule).where(
            CommuneModule.commune_id == commune.id, CommuneModule.plugin == "chamilo"
        )
    )
    row.settings = {
        "url": url,
        "username": "admin",
        "password": encrypt("admin-secret"),
        "concurrency": concurrency,
    }
    db.commit()
    services.refresh_catalogue(commune)
    db.commit()
    course_rows = list(db.scalars(select(Course).where(Course.commune_id == commune.id)))
    assert len(course_rows) == courses, len(course_rows)
    users = [
        {"email": f"elu{i}@{insee}.test", "name": f"Élu {i} {insee}", "is_active": True}
        for i in range(officials)
    ]
    db.execute(insert(User), users)
    people = db.execute(
        select(User.id, User.email, User.name).where(User.email.like(f"%@{insee}.test"))
    ).all()
    ids = [uid for uid, _email, _name in people]
    db.execute(
        insert(Membership),
        [{"user_id": uid, "commune_id": commune.id, "role": "conseiller"} for uid in ids],
    )
    db.execute(
        insert(Enrolment),
        [
            {"commune_id": commune.id, "user_id": uid, "course_id": c.id, "status": ACTIVE}
            for uid in ids
            for c in course_rows
        ],
    )
    accounts = []
    for uid, email, name in people:
        learner = fake.add_user(loginname_of(uid), status=5)
        learner.api_key = f"{uid:032x}"
        accounts.append(
            {
                "url": url,
                "user_id": uid,
                "chamilo_id": learner.id,
                "loginname": learner.username,
                "api_key": encrypt(learner.api_key),
                # The profile as last sent: the sync sends no profile update.
                "profile_digest": profile_digest(Learner(uid, email, name)),
            }
        )
        for course in fake.courses.values():
            for lp_id, *_rest in course.learnpaths:
                fake.progress[(learner.id, lp_id)] = random.randrange(0, 101, 10)
    db.execute(insert(Account), accounts)
    db.commit()
    return commune


def sync(app, fake, commune_id):
    from core.db import db
    from core.models import Commune
    from plugins.academie import services

    commune = db.get(Commune, commune_id)
    before = fake.requests["course_learnpaths"]
    start = time.perf_counter()
    updated = services.sync_progress(commune)
    db.commit()
    seconds = time.perf_counter() - start
    return updated, fake.requests["course_learnpaths"] - before, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officials", type=int, default=5000)
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--no-sweep", action="store_true", help="the full size only")
    options = parser.parse_args()
    random.seed(6)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise

    from tests.plugins.chamilo.fake_chamilo import FakeChamilo, serve

    _common.header(
        f"Formations: progress sync against the fake Chamilo "
        f"({options.officials} officials x {options.courses} courses)"
    )
    fake = FakeChamilo()
    for number in range(options.courses):
        course = fake.add_course(f"Formation {number + 1}", code=f"F{number + 1}")
        fake.add_learnpath(course, "Partie 1")
        fake.add_learnpath(course, "Partie 2")
    with _common.temp_dir("academie") as folder, serve(fake) as served:
        app = _common.make_app(f"sqlite:///{folder / 'bench.db'}")
        with app.app_context():
            if not options.no_sweep:
                print(f"-- sweep of the bound: {SWEEP_OFFICIALS} officials x {options.courses}")
            baseline = None
            for index, bound in enumerate(() if options.no_sweep else SWEEP_BOUNDS):
                commune = populate(
                    app, fake, served.url, f"9{index:04d}", SWEEP_OFFICIALS, options.courses, bound
                )
                updated, requests, seconds = sync(app, fake, commune.id)
                rate = requests / seconds
                baseline = baseline or rate
                print(
                    f"   bound {bound:2d}: {requests:6d} requests in {seconds:6.1f} s, "
                    f"{rate:6.0f} req/s (x{rate / baseline:.2f}), {updated} progress rows"
                )
            commune = populate(
                app, fake, served.url, "10145", options.officials, options.courses, 4
            )
            updated, requests, seconds = sync(app, fake, commune.id)
            print(
                f"-- full size, bound 4: {requests} requests in {seconds:.1f} s, "
                f"{requests / seconds:.0f} req/s, {updated} progress rows updated"
            )
        _common.dispose(app)


if __name__ == "__main__":
    main()
