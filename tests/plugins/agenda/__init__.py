"""The agenda plugin: pages, recurrence, iCalendar out."""
