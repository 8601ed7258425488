"""Plain-English words for the buddy scheme's fixed choices, for forms and pages."""

from __future__ import annotations

from marketplace.buddies.models import Helpfulness, Holding, Time, Topic, Way

HOLDING_LABELS = {
    Holding.DIRECT_PAYMENT.value: "Direct payment (the money is paid to me)",
    Holding.MANAGED_ACCOUNT.value: "Managed account (someone holds it for me)",
    Holding.COUNCIL_ARRANGED.value: "The council arranges my services",
    Holding.MIXED.value: "A mix of these",
}

TOPIC_LABELS = {
    Topic.ASSESSMENT.value: "Getting assessed",
    Topic.CHOOSING_HOW_TO_HOLD.value: "Choosing how to hold the budget",
    Topic.EMPLOYING_A_PA.value: "Finding and employing a personal assistant",
    Topic.PAPERWORK_MONITORING.value: "Paperwork and the council's checks",
    Topic.IDEAS.value: "Ideas for using the budget",
    Topic.JOINING_A_POOL.value: "Joining a pool with other people",
}

WAY_LABELS = {
    Way.MESSAGES.value: "Messages on this site",
    Way.PHONE.value: "Phone calls",
    Way.VIDEO.value: "Video calls",
    Way.IN_PERSON.value: "Meeting in a public place",
}

TIME_LABELS = {
    Time.WEEKDAY_DAYTIME.value: "Weekday daytimes",
    Time.EVENINGS.value: "Evenings",
    Time.WEEKENDS.value: "Weekends",
}

HELPFULNESS_LABELS = {
    Helpfulness.VERY.value: "Very helpful",
    Helpfulness.SOMEWHAT.value: "Somewhat helpful",
    Helpfulness.NOT_REALLY.value: "Not really helpful",
}

STATUS_LABELS = {
    "proposed": "Waiting for the buddy to answer",
    "active": "Buddies",
    "paused": "Paused",
    "ended": "Ended",
    "declined": "Not this time",
}

# Lived-experience topics (matching.LIVED_TOPICS), as the person choosing them reads them.
LIVED_LABELS = {
    "anxiety": "Anxiety",
    "bipolar": "Bipolar",
    "depression": "Depression",
    "eating_disorders": "Eating disorders",
    "hearing_voices": "Hearing voices",
    "personality_disorder_diagnosis": "A personality disorder diagnosis",
    "psychosis": "Psychosis",
    "self_harm": "Self-harm",
    "substance_use": "Drugs or alcohol",
    "trauma": "Trauma",
}
