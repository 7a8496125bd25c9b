"""Screens and modals of the circle app. No SQL, no crypto: they get services from the app."""
