"""The directory's starting taxonomy. The migration seeds it; admins can edit it afterwards."""

from __future__ import annotations

CATEGORIES: list[tuple[str, str, str]] = [
    (
        "personal-assistants",
        "Personal assistants",
        "People you employ or hire to support you day to day.",
    ),
    (
        "peer-support",
        "Peer support",
        "Groups and one-to-one support from people with lived experience.",
    ),
    ("advocacy", "Advocacy", "Independent help to have your say in assessments, reviews and care."),
    (
        "direct-payment-support",
        "Direct payment support",
        "Payroll, managed accounts and help with direct payment paperwork.",
    ),
    ("sleep-in-support", "Sleep-in and night support", "Support workers who stay overnight."),
    ("fitness-and-sport", "Fitness and sport", "Gyms, swimming, classes and sports clubs."),
    ("arts-and-creativity", "Arts and creativity", "Art, music, writing and drama."),
    ("learning-and-skills", "Learning and skills", "Courses, IT help and getting online."),
    (
        "work-and-volunteering",
        "Work and volunteering",
        "Help to find and keep work or volunteering.",
    ),
    (
        "talking-therapies",
        "Talking therapies and counselling",
        "Counselling and therapies not provided by the NHS.",
    ),
    (
        "social-and-community",
        "Social and community activities",
        "Clubs, outings and ways to meet people.",
    ),
    (
        "culturally-specific",
        "Culturally specific services",
        "Services run by and for particular communities.",
    ),
    (
        "practical-help",
        "Practical help at home",
        "Cleaning, shopping, cooking and help around the home.",
    ),
    ("travel-and-transport", "Travel and transport", "Help to get out and about."),
]
