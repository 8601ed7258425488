"""Wellbeing controls: taking a break from everything at once, crisis plans, gentler emails."""
