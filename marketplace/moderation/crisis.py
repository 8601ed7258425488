"""Crisis signposting: when what someone writes suggests they may be in crisis, show them
(privately, on their next page) where to get urgent help now.

This is a signpost, never a diagnosis. Nothing is stored, flagged, emailed or shared: the
check runs on the text just posted and only ever produces a flash message for its writer.

Recognition is phrases and patterns about the writer themselves (intent, plans, means,
self-harm, goodbyes, hopelessness), matched on a normalised copy of the text (case,
apostrophes, spacing and common contractions evened out), with a narrow negation rule so
"I would never kill myself" does not raise a signpost. The test set in tests/moderation
(crisis_at_risk.txt, crisis_ordinary.txt) holds the line; bench/crisis.py prints the figures.
A missed signpost costs more than an unneeded one, so doubtful cases lean towards showing it.
"""

from __future__ import annotations

import re

from flask import flash

CATEGORY = "crisis"

# Contractions and spellings people use, evened out so each pattern is written once.
_NORMALISE = [
    (r"[’‘`´]", "'"),
    (r"\bi'?m\b", "i am"),
    (r"\bi'?ve\b", "i have"),
    (r"\bi'?d\b", "i would"),
    (r"\bi'?ll\b", "i will"),
    (r"\bcan'?t\b|\bcan not\b", "cannot"),
    (r"\bwon'?t\b", "will not"),
    (r"\b(do|does|did|would|could|should|is|are|was|were|have|has)n'?t\b", r"\1 not"),
    (r"\bwanna\b", "want to"),
    (r"\bgonna\b", "going to"),
    (r"\b(what|there|it|that|life)'?s\b", r"\1 is"),
    (r"\bany more\b|\bany longer\b", "anymore"),
    (r"\bself[\s-]*harm", "self harm"),
    (r"\bmy ?self\b", "myself"),
    (r"\bno ?one\b|\bnobody\b", "no one"),
    (r"\s+", " "),
]
_NORMALISE_RE = [(re.compile(p), r) for p, r in _NORMALISE]

_PILLS = (
    r"(?:tablets|pills|paracetamol|meds|medication|medicine|sleeping pills|painkillers"
    r"|co-?codamol|codeine|ibuprofen|aspirin|antidepressants|insulin)"
)
_LOTS = (
    r"(?:too many|all (?:of )?(?:my|the|them)|a load of|loads of|lots of|a lot of|handfuls of"
    r"|a handful of|a whole (?:box|packet|bottle|pack|strip) of|the whole (?:box|packet|bottle"
    r"|pack)(?: of)?|boxes of|packets of|enough)"
)
_INTEND = r"(?:want to|going to|planning to|plan to|about to|ready to|need to|decided to|will)"

# Each pattern is about the writer. Written against the normalised text.
PATTERNS: tuple[str, ...] = (
    # Intent and wishes.
    r"\b(?:kill|killing|killed|unalive|unaliving) myself\b",
    r"\b(?:end|ending) (?:it all|my life|my own life|everything|myself|it tonight|it now)\b",
    r"\b(?:take|taking) my (?:own )?life\b",
    r"\bsuicid(?:al|e)\b(?! (?:prevention|awareness|training|helpline|charity|squad|statistics"
    r"|rates?|research|policy|film|bombers?))",
    r"\bwant to die\b|\bwant to be dead\b|\bready to die\b|\bdeserve to die\b",
    r"\bwish (?:i|that i) (?:was|were|could be) dead\b|\b(?:rather|better) (?:be )?dead\b",
    r"\bwish i (?:was|had) never (?:been )?born\b",
    r"\bshould (?:just )?(?:be dead|die)\b",
    r"\bdo not want to (?:live|be alive|exist|be here|wake up|go on)(?! (?:in|with|near|at|on|"
    r"there|here|like that|early|at|before|so)\b)",
    r"\b(?:not|never) (?:wake|waking) up\b(?! (?:early|in time|on time|before|until|till|at))",
    r"\bhope i do not wake up\b",
    r"\bno (?:point|reason|purpose) (?:in |to |of )?(?:living|live|life|being alive|going on"
    r"|carrying on|me being here|existing|anymore|trying anymore)\b",
    r"\bwhat is the point (?:in |of )?(?:living|life|going on|being alive|carrying on|anything"
    r"|it all|of me)\b",
    r"\b(?:life|living) is (?:not|no longer) worth (?:it|living)\b|\bnot worth living\b",
    r"\bbetter off (?:without me|dead|if i (?:was|were) (?:gone|dead|not here))\b",
    r"\bbetter off if i (?:was|were) (?:gone|dead|not here|not around)\b",
    r"\bno one would (?:miss me|notice me|care)\b|\bno one would (?:miss|notice|care) if i"
    r" (?:died|was gone|were gone|disappeared|was dead|were dead|was not here|killed)\b",
    r"\bwould not (?:even )?(?:miss|notice) (?:me|if i)\b",
    r"\bi am (?:just )?a burden (?:to|on) (?:everyone|everybody|my|them|you)\b",
    r"\bcannot (?:go on|carry on|keep going|do this anymore|take (?:it|this|any) anymore|cope "
    r"anymore|live like this)(?! (?:on|at|to|the|a|an|holiday|trip|until|till|today|tomorrow"
    r"|tonight|next|this (?:week|trip|course|walk)|with the|without|mondays?|tuesdays?"
    r"|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|in|that)\b)",
    r"\bi am (?:done|finished) with (?:life|living|everything|it all|this world)\b",
    r"\b(?:tired|sick) of (?:living|being alive|life|existing)\b",
    r"\bthoughts (?:of|about) (?:dying|death|ending|killing|suicide|not being here)\b",
    r"\b(?:thinking|thought) (?:about|of) (?:ending|killing|taking my|not being here|dying)\b",
    r"\bi am not (?:safe|okay to be alone)(?: right now| tonight| at the moment| with myself"
    r"| around myself| on my own| alone|$|[.!,])",
    r"\bnot safe (?:from|with|around) myself\b|\bdo not trust myself\b",
    r"\bcannot keep myself safe\b|\bkeep myself safe (?:tonight|right now)\b",
    r"\bdisappear (?:forever|for good|for ever)\b",
    # Plans and means.
    r"\b(?:i have|i have got|got|made) a plan (?:to|for) (?:end|kill|die|do it|how)\b",
    r"\bi have (?:a|my) plan\b(?!\w)(?! (?:for (?:the|our|a|my) (?!death)|b\b|of))",
    r"\b(?:took|taken|swallowed|take|taking|drank|downed)\b(?: \w+){0,2} " + _LOTS + r" "
    r"(?:of )?(?:my |the |them |those )?" + _PILLS + r"\b",
    r"\b(?:took|taken|swallowed) (?:far |way )?too many(?: again)?(?! \w)",
    r"\b(?:saved|saving|stockpiled|stockpiling|hoarding|hoarded|collecting|collected|stashed)"
    r" (?:up )?(?:my |some |enough |all my )?" + _PILLS + r"\b",
    r"\b(?:i|i have|i am|going to|want to|will|did|might|took|taken|take)\b(?: \w+){0,2}"
    r" overdos(?:e|ed|ing)\b",
    r"\b" + _INTEND + r" (?:take|swallow) (?:all|the lot|everything)\b",
    r"\b(?:jump|jumping|throw myself|throwing myself|step|stepping|walk|walking)"
    r" (?:off|from|in front of|under|onto) (?:a|the|that|this)\b(?: \w+)?"
    r" (?:bridge|train|building|roof|cliff|car|bus|lorry|motorway|tracks|railway|balcony"
    r"|multi-?storey|tower|edge)\b",
    r"\b(?:on|at) the (?:edge|railings?|ledge) of (?:the|a) (?:bridge|roof|cliff|building)\b",
    r"\b(?:hang|hanging|drown|drowning|poison|poisoning|gas|gassing|shoot|shooting|stab"
    r"|stabbing|suffocate|suffocating|strangle|starve|starving|electrocute) myself\b",
    r"\bnoose\b|\b(?:bought|got|have|tied|tie|found) (?:a|the) rope\b",
    r"\b(?:slit|slash|slashing|cut|cutting) (?:my )?wrists\b",
    r"\bi have written (?:a |my )?(?:suicide |goodbye |last )?(?:note|letters?)\b(?! to (?:the|my"
    r" landlord|the council))",
    r"\b(?:suicide|goodbye|farewell) (?:note|letter|message)s?\b",
    # Self-harm.
    r"\bself harm(?:ing|ed|s)?\b(?! (?:awareness|training|leaflets?|support group|policy"
    r"|service|team|workshop|course|resources|booklet))",
    r"\b(?:cutting|burning|scratching|hitting|punching|hurting|harming|bruising|scarring)"
    r" myself\b",
    r"\b(?:cut|burn|burned|burnt|hit|hurt|harm|scratch) myself\b(?! (?:shaving|cooking|on (?:the|a"
    r"|my) (?!purpose)|by accident|accidentally|while|when|in the kitchen|badly on|gardening"
    r"|\w+ing\b))",
    r"\bi (?:have|am|have been|had|keep|started|start) (?:been )?(?:cutting|burning|self harming)"
    r"(?: myself)? again\b",
    r"\bi (?:have )?(?:started|been|am|keep) (?:cutting|burning|harming)(?: myself)?$",
    r"\b(?:started|start|been|keep) (?:cutting|burning|self harming)(?: myself)? again\b",
    r"\b(?:urge|urges|need|want|wanting) to (?:cut|burn|hurt|harm|self harm|punish)\b",
    r"\brelapsed (?:with|into) (?:self harm|cutting|burning)\b",
    r"\bcut (?:my|into my) (?:arms?|legs?|thighs?|skin|stomach)\b",
    r"\bburn(?:ed|t|ing)? (?:my|into my) (?:arms?|legs?|thighs?|skin|hands?) with\b",
    # Goodbyes.
    r"\bthis is (?:my )?goodbye\b|\bgoodbye (?:everyone|all|forever|world|for good)\b",
    r"\b(?:saying|say) (?:my )?goodbyes?\b(?! to (?:the|our|my) (?:group|class|team|old))",
    r"\b(?:will not|may not|might not) be (?:here|around|alive)"
    r" (?:tomorrow|much longer|for (?:much )?longer|anymore|by (?:the|tomorrow|morning|monday|then)"
    r"|in the morning|to see)\b",
    r"\bby the time (?:you|anyone|someone) (?:read|reads|see|sees|find|finds) this\b",
    r"\b(?:when|after|once) i am (?:gone|dead|not here)\b",
    r"\b(?:last|final) (?:message|goodbye)\b(?! (?:before|until|till|for|of the|today|on)\b)",
    r"\b(?:last|final) time you (?:will )?hear from me\b",
    r"\bwill not hear from me again\b|\bnever hear from me again\b",
    r"\b(?:given|giving|gave) (?:away )?(?:all )?my (?:things|stuff|belongings|possessions)"
    r"(?: away)?\b",
    r"\blook after my (?:kids|children|cat|dog|pets?|family) (?:for me )?(?:when|after|once)\b",
)
_COMPILED = tuple(re.compile(p) for p in PATTERNS)

# A pattern is not counted when a negation governs it in the same sentence: "never",
# "not", "no" followed only by words that carry its meaning on to the phrase ("I would never
# ever think of killing myself", "I am not feeling suicidal", "no thoughts of suicide").
_GLUE = (
    r"(?:ever|going|to|want|wanting|planning|plan|intend|intending|try|trying|really|actually"
    r"|feel|feeling|be|i|would|will|do|thinking|think|about|of|thoughts|thought|at|all|again"
    r"|now|anymore|currently|presently|been|have|had|any|a|way|that|so|anything|like|hurt|am"
    r"|myself|but)"
)
_NEGATED = re.compile(r"(?:\bnever|\bnot|\bno)(?: " + _GLUE + r"){0,6} ?$")
_SENTENCE = re.compile(r"[.!?;\n]")


def _normalise(text: str) -> str:
    text = text.lower()
    for pattern, replacement in _NORMALISE_RE:
        text = pattern.sub(replacement, text)
    return text.strip()


def _negated(text: str, start: int) -> bool:
    before = text[:start]
    boundary = max((m.end() for m in _SENTENCE.finditer(before)), default=0)
    return _NEGATED.search(before[boundary:]) is not None


def suggests_crisis(text: str | None) -> bool:
    """Whether the text contains a phrase that suggests its writer may be in crisis."""
    if not text:
        return False
    normal = _normalise(text)
    for sentence in re.split(r"(?<=[.!?;\n])", normal):
        sentence = sentence.strip()
        for pattern in _COMPILED:
            for match in pattern.finditer(sentence):
                if not _negated(sentence, match.start()):
                    return True
    return False


def signpost_if_needed(text: str | None) -> bool:
    """Flash the urgent-help signpost to the writer (only) if their text suggests crisis."""
    if not suggests_crisis(text):
        return False
    flash("crisis", CATEGORY)
    return True
