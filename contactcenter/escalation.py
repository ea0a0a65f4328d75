"""When the bot must hand over, read from the customer's own words. Pure functions.

A customer who asks for a person in plain words gets one, whatever the
knowledge base thinks. The patterns cover the usual phrasings in English and
a few other languages; they are deliberately about *asking for a human*, so
"my agent number is wrong" does not escalate while "can I talk to an agent" does.
"""

from __future__ import annotations

import re
import unicodedata

_HUMAN_NOUNS = (
    r"(?:a\s+|an\s+|the\s+|some\s*|real\s+|live\s+|actual\s+)*"
    r"(?:human(?:\s+being)?|person|people|someone|somebody|agent|operator|representative|"
    r"rep|staff|employee|support\s+agent|customer\s+service|manager|supervisor)"
)
_ASK_VERBS = (
    r"(?:talk|speak|chat|connect|transfer|put\s+me\s+through|get|want|need|give\s+me|"
    r"escalate|reach|contact)"
)
_PATTERNS = [
    re.compile(rf"\b{_ASK_VERBS}\b(?:\s+\w+){{0,3}}?\s+(?:to\s+|with\s+)?{_HUMAN_NOUNS}\b"),
    re.compile(
        rf"^\s*(?:a\s+|an\s+)?(?:real\s+|live\s+)?{_HUMAN_NOUNS}\s*(?:please|pls|now)?\s*[.!?]*\s*$"
    ),
    re.compile(r"\b(?:is\s+there|are\s+you)\s+(?:a\s+)?(?:real\s+)?(?:human|person|bot|robot)\b"),
    re.compile(r"\bstop\s+(?:the\s+)?bot\b|\bno\s+more\s+bot\b|\bnot\s+a\s+bot\b"),
    re.compile(r"\bhuman\s+please\b|\btalk\s+to\s+a\s+human\b|\bescalate\b"),
    # Other languages: de, fr, es, it, nl, pt.
    re.compile(r"\b(?:mitarbeiter|menschen|mensch)\b"),
    re.compile(r"\b(?:parler\s+a|un\s+humain|une\s+personne|un\s+conseiller|un\s+agent)\b"),
    re.compile(r"\b(?:hablar\s+con|una\s+persona|un\s+humano|un\s+agente)\b"),
    re.compile(r"\b(?:parlare\s+con|un\s+operatore|una\s+persona)\b"),
    re.compile(r"\b(?:medewerker|een\s+mens)\b"),
    re.compile(r"\b(?:falar\s+com|um\s+atendente|uma\s+pessoa)\b"),
]

_YES = {
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "sure",
    "it did",
    "yes thanks",
    "yes thank you",
    "thanks",
    "thank you",
    "perfect",
    "great",
    "solved",
    "that helped",
    "helpful",
    "ok thanks",
}
_NO = {
    "no",
    "n",
    "nope",
    "nah",
    "not really",
    "it did not",
    "it didnt",
    "didnt help",
    "did not help",
    "it didnt help",
    "it did not help",
    "that didnt help",
    "that did not help",
    "no that didnt help",
    "doesnt help",
    "not helpful",
    "no it didnt",
    "no it did not",
    "wrong",
    "no thanks",
}


def fold(text: str) -> str:
    """Lower-case, accents stripped, whitespace collapsed: what the patterns see."""
    text = text[:2000]
    if not text.isascii():  # most messages are ASCII: no accents to strip, and it is cheap
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())  # str.split's whitespace is the regex's \s


# One pass over the text instead of one per pattern: every message is checked.
_ANY_PATTERN = re.compile("|".join(f"(?:{p.pattern})" for p in _PATTERNS))


_PUNCTUATION = re.compile(r"[^\w\s]")


#: Every pattern above needs one of these in the folded text: a word for a person,
#: "bot", "escalate", or a word of a phrase in another language. Most messages hold
#: none and skip the search (2.9 against 8 µs for a short question, the fold included;
#: every message is checked). tests/core/test_escalation.py holds the two to the same answers.
_NEEDS_ONE_OF = (
    "human",
    "humain",
    "person",
    "people",
    "some",  # someone, somebody, "some agent"
    "agent",
    "operator",
    "rep",  # rep, representative
    "staff",
    "employee",
    "customer",
    "manager",
    "supervisor",
    "bot",  # bot, robot
    "escalate",
    "mens",  # mens, mensch, menschen
    "mitarbeiter",
    "parler",
    "parlare",
    "conseiller",
    "hablar",
    "medewerker",
    "falar",
    "atendente",
    "pessoa",
)


def asks_for_human(text: str) -> bool:
    folded = fold(text)
    if not any(word in folded for word in _NEEDS_ONE_OF):
        return False
    return _ANY_PATTERN.search(folded) is not None


def feedback(text: str) -> bool | None:
    """The customer's answer to "Did this answer your question?": True, False, or None."""
    folded = _PUNCTUATION.sub("", fold(text)).strip()
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    return None
