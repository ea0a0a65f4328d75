"""Cutting a reply down to what the customer just wrote.

Mail clients append the whole previous conversation, a signature and
"Sent from my phone". Shown to an agent or fed to the bot, that noise hides
the new question and makes the bot answer old ones. The rules, in order:

1. Cut everything from an unambiguous "this is the old mail" marker: an
   Outlook header block ("From: ... Sent: ... To: ... Subject:"), an
   "-----Original Message-----" line, or an "On ... wrote:" line (in many
   languages, possibly wrapped) that is *not* followed by ">" lines.
2. From the bottom up, repeatedly remove: trailing ">" quoted blocks together
   with the "On ... wrote:" line that introduces them, signatures after a
   "-- " line (or a "___" mailing-list footer, or a "-Name" line), mobile
   footers ("Sent from my iPhone", "Get Outlook for Android", ...) and, when
   it is safe, a closing formula with the name under it ("Best regards,\\nAnn").
3. Quoted blocks *between* pieces of new text are kept: that is an inline
   reply and the quote is the context of the answer below it.

Only whole lines are removed and nothing is rewritten, so the worst failure is
keeping too much, never inventing text. The full text stays available to the
caller separately.
"""

# Non-Latin letters and the fullwidth colon below are deliberate: they are mail
# clients' translations of "wrote:", "From:" and friends.
# ruff: noqa: RUF001

from __future__ import annotations

import re

# Lines longer than this are not considered as headers: keeps the regexes
# linear and avoids matching a paragraph that happens to end with "wrote:".
_MAX_HEADER_CHARS = 400
_MAX_HEADER_LINES = 3  # "On ... wrote:" wrapped over up to three lines

# "On <date>, <name> wrote:" and its translations. The opening word is checked
# first (cheap), the verb at the end second.
_ON_WROTE = re.compile(
    r"""^\s*(?:
        (?:On|Am|Le|El|Op|Il|Em|No|Den|På|Dnia|W\ dniu|Dne|В)\s.*?
        (?<!\w)(?:wrote|writes|schrieb|a\ écrit|escribió|escribio|schreef|ha\ scritto|scrisse|
           escreveu|skrev|napisał|napisała|napisał\(a\)|napsal|написал|написала|
           написал\(а\)|kirjoitti|írta|yazdı|έγραψε)(?!\w)(?:\s.*)?
        |
        .*(?:写道|寫道|のメッセージ|님이\ 작성|написал\(а\)|написал|написала)
    )\s*[:：]?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_VERB_AT_END = re.compile(
    r"(?:wrote|schrieb|a écrit|escribió|schreef|ha scritto|skrev)\s*:\s*$", re.I
)
# Gmail in some locales: "2012/10/1 Dave <dave@example.com>:" - a date-ish
# number, an address in angle brackets and a final colon, nothing else.
_DATE_ADDR_COLON = re.compile(r"^\s*\S*\d.{0,200}<[^<>\s@]+@[^<>\s]+>\s*[:：]\s*$")

_ORIGINAL_MESSAGE = re.compile(
    r"""^\s*[-_=*]{2,}\s*(?:
        original\ message|original\ mail|ursprüngliche\ nachricht|originalnachricht|
        message\ d'origine|message\ original|mensaje\ original|mensagem\ original|
        oorspronkelijk\ bericht|origineel\ bericht|messaggio\ originale|
        ursprungligt\ meddelande|originalmeddelande|oprindelig\ meddelelse|
        opprinnelig\ melding|alkuperäinen\ viesti|wiadomość\ oryginalna|
        původní\ zpráva|исходное\ сообщение|原始邮件|原始郵件|元のメッセージ|원본\ 메시지|
        reply\ above\ this\ line|please\ reply\ above\ this\ line
    )\s*[-_=*]{2,}\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_REPLY_ABOVE = re.compile(
    r"^\s*#*\s*-*\s*(?:please\s+)?(?:type|write)\s+your\s+reply\s+above", re.I
)

# Outlook-style header blocks. "*From:*" is Outlook's plain-text rendering of bold.
_FIELD_PREFIX = r"^\s*\*?\s*"
_FROM_FIELD = re.compile(
    _FIELD_PREFIX + r"(?:from|von|de|van|da|från|fra|od|от|lähettäjä|feladó|kimden|"
    r"发件人|寄件者|差出人|보낸\s*사람)"
    r"\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_OTHER_FIELD = re.compile(
    _FIELD_PREFIX + r"(?:sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|date|à|a|objet|"
    r"enviado(?:\s+el)?|fecha|para|asunto|verzonden|aan|onderwerp|inviato|data|oggetto|"
    r"skickat|till|ämne|sendt|til|emne|wysłano|wysłane|do|temat|odesláno|komu|předmět|"
    r"отправлено|дата|кому|тема|lähetetty|vastaanottaja|aihe|elküldve|címzett|tárgy|"
    r"gönderildi|kime|konu|发送时间|日期|收件人|主题|傳送時間|收件者|主旨|送信日時|宛先|件名|"
    r"보낸\s*날짜|받는\s*사람|제목)"
    r"\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_HEADER_BLOCK_WINDOW = 6  # the other fields must follow "From:" within this many lines

_QUOTED = re.compile(r"^\s*>")
_SEPARATOR = re.compile(r"^\s*[-_=*~]{3,}\s*$")
_SIG_DELIMITER = re.compile(r"^(?:--\s*|-- \S.{0,40}|_{10,}\s*)$")
# "-Ann" / "-Ann Smith" under a blank line: the terse signature of list mail.
_SIG_DASH_NAME = re.compile(r"^-[A-Z][\w.'’]*(?: [A-Z][\w.'’-]*){0,2}$")
_MAX_SIGNATURE_LINES = 12

_MOBILE_FOOTER = re.compile(
    r"""^\s*(?:
        sent\ from\ my\ [\w.'’ -]{1,40}|
        sent\ from\ (?:mail|outlook|yahoo\ mail|gmail|proton\ ?mail|samsung|my\ mobile)
            \b[\w .'’-]{0,40}|
        sent\ (?:via|with|using)\ [\w .'’-]{1,40}|
        get\ outlook\ for\ (?:ios|android|mac|windows)[\w .'’-]{0,20}|
        von\ meinem\ [\w ]{1,40}\ gesendet|
        gesendet\ von\ (?:meinem\ )?[\w ]{1,40}|
        envoyé\ (?:de|depuis)\ (?:mon|ma)\ [\w ]{1,40}|
        enviado\ (?:desde|do|de)\ (?:mi|meu|o\ meu)\ [\w ]{1,40}|
        verzonden\ (?:vanaf|met)\ (?:mijn\ )?[\w ]{1,40}|
        inviato\ da\ (?:il\ mio\ |mio\ )?[\w ]{1,40}|
        skickat\ från\ min\ [\w ]{1,40}|
        sendt\ fra\ min\ [\w ]{1,40}|
        wysłane\ z\ (?:mojego\ )?[\w ]{1,40}|
        отправлено\ с\ [\w ]{1,40}|
        [\w ]{1,20}から送信|
        发自我的\w{1,20}|發自我的\w{1,20}
    )\s*[.!]?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

_SIGN_OFF = re.compile(
    r"""^\s*(?:
        (?:best|kind|warm|warmest|many|with\ kind|with\ best)\ (?:regards|wishes)|
        regards|best|cheers|sincerely|yours\ (?:sincerely|truly)|all\ the\ best|
        thanks|thank\ you|many\ thanks|thanks\ (?:a\ lot|again|in\ advance)|
        mit\ freundlichen\ grüßen|mit\ freundlichen\ grüssen|freundliche\ grüße|
        viele\ grüße|beste\ grüße|lg|mfg|
        cordialement|bien\ cordialement|bien\ à\ vous|merci|
        saludos|un\ saludo|atentamente|gracias|
        met\ vriendelijke\ groet(?:en)?|groeten|
        cordiali\ saluti|distinti\ saluti|saluti|grazie|
        atenciosamente|abraços|obrigad[oa]|
        med\ vänliga\ hälsningar|vänliga\ hälsningar|mvh|hälsningar|
        pozdrawiam|z\ poważaniem|
        с\ уважением|спасибо
    )\s*[,.!]?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Closing formulas that are not also ordinary sentences: safe to cut on their own.
_FORMAL_SIGN_OFF = re.compile(
    r"regards|wishes|sincerely|truly|grüß|grüss|cordialement|atentamente", re.I
)
_MAX_NAME_LINES = 4
_DIGIT = re.compile(r"\d")
_MAX_NAME_CHARS = 60


def trim_reply(text: str) -> str:
    """The new part of a reply (may be "" if the mail holds nothing new)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = lines[: _cut_at_old_mail(lines)]
    _strip_tail(lines)
    while True:
        before = len(lines)
        _drop_trailing_quote(lines)
        _drop_signature(lines)
        _drop_mobile_footer(lines)
        _drop_sign_off(lines)
        _strip_tail(lines)
        if len(lines) == before:
            break
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


# -- step 1: unambiguous markers ------------------------------------------------


def _cut_at_old_mail(lines: list[str]) -> int:
    """Index of the first line of the quoted old mail, or len(lines)."""
    for i, line in enumerate(lines):
        if not line.strip() or _QUOTED.match(line):
            continue
        if _ORIGINAL_MESSAGE.match(line) or _REPLY_ABOVE.match(line):
            return i
        if _FROM_FIELD.match(line) and _is_header_block(lines, i):
            return _include_separator_above(lines, i)
        span = _header_span(lines, i)
        if span and not _next_text_is_quoted(lines, i + span):
            return i
    return len(lines)


def _is_header_block(lines: list[str], start: int) -> bool:
    """At least two more header fields right below a "From:" line."""
    found = 0
    for line in lines[start + 1 : start + 1 + _HEADER_BLOCK_WINDOW]:
        if _OTHER_FIELD.match(line):
            found += 1
        elif line.strip() and found == 0 and len(line) > 120:
            return False
    return found >= 2


def _include_separator_above(lines: list[str], index: int) -> int:
    j = index - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0 and _SEPARATOR.match(lines[j]):
        return j
    return index


_HEADER_ENDINGS = (
    ":", "：", "wrote", "schrieb", "écrit", "escribió", "schreef", "scritto", "escreveu", "skrev",
)  # fmt: skip


def _header_span(lines: list[str], start: int) -> int:
    """How many lines (1-3) starting at ``start`` form an "On ... wrote:" header."""
    # A header ends where one of its lines ends in ":" or the verb: most lines of
    # most mails do not, and this check is what keeps trimming cheap.
    window = lines[start : start + _MAX_HEADER_LINES]
    if not any(line.rstrip().endswith(_HEADER_ENDINGS) for line in window):
        return 0
    joined = ""
    for count in range(1, _MAX_HEADER_LINES + 1):
        idx = start + count - 1
        if idx >= len(lines) or not lines[idx].strip() or _QUOTED.match(lines[idx]):
            return 0
        joined = f"{joined} {lines[idx].strip()}".strip()
        if len(joined) > _MAX_HEADER_CHARS:
            return 0
        if _is_wrote_header(joined):
            return count
    return 0


def _is_wrote_header(text: str) -> bool:
    # Cheapest test first: this runs on every line of every mail.
    if not text.rstrip().endswith(_HEADER_ENDINGS):
        return False
    if not _DIGIT.search(text) and "@" not in text and not _VERB_AT_END.search(text):
        return False  # the verb mid-line needs a date or an address to be believed
    return bool(_ON_WROTE.match(text))


def _next_text_is_quoted(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return True  # a header with nothing below it is a dangling quote header


# -- step 2: trailing noise, bottom up ------------------------------------------


def _strip_tail(lines: list[str]) -> None:
    """Blank lines and bare separator rules at the end."""
    while lines and (not lines[-1].strip() or _SEPARATOR.match(lines[-1])):
        lines.pop()


def _drop_trailing_quote(lines: list[str]) -> None:
    if not lines or not _QUOTED.match(lines[-1]):
        return
    while lines and (not lines[-1].strip() or _QUOTED.match(lines[-1])):
        lines.pop()
    # The "On ... wrote:" line(s) that introduced the quote.
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    for count in range(1, _MAX_HEADER_LINES + 1):
        start = end - count
        if start < 0:
            break
        if _header_span(lines, start) == count or _DATE_ADDR_COLON.match(lines[start]):
            del lines[start:]
            return


def _drop_signature(lines: list[str]) -> None:
    """A signature block: a delimiter line with a few lines under it."""
    lowest = max(0, len(lines) - _MAX_SIGNATURE_LINES - 1)
    for i in range(len(lines) - 1, lowest - 1, -1):
        line = lines[i]
        dash_name = _SIG_DASH_NAME.match(line) and i > 0 and not lines[i - 1].strip()
        if _SIG_DELIMITER.match(line) or dash_name:
            if i == 0 or not any(ln.strip() for ln in lines[:i]):
                return  # the whole mail would go: not a signature
            below = lines[i + 1 :]
            if any(_QUOTED.match(ln) for ln in below):
                return
            del lines[i:]
            return


def _drop_mobile_footer(lines: list[str]) -> None:
    if lines and _MOBILE_FOOTER.match(lines[-1]) and any(ln.strip() for ln in lines[:-1]):
        lines.pop()


def _drop_sign_off(lines: list[str]) -> None:
    """A closing formula near the end, with at most a short name block under it.

    Only cut when the formula is alone on its line, new text stays above it,
    and what follows looks like a name (a few short lines without sentence
    punctuation). "Thanks" alone is only cut when a name follows it.
    """
    lowest = max(0, len(lines) - _MAX_NAME_LINES - 1)
    for i in range(len(lines) - 1, lowest - 1, -1):
        if not _SIGN_OFF.match(lines[i]):
            continue
        above = [ln for ln in lines[:i] if ln.strip()]
        below = [ln for ln in lines[i + 1 :] if ln.strip()]
        if not above:
            return
        if not below and not _FORMAL_SIGN_OFF.search(lines[i]):
            return
        if all(_looks_like_name_line(ln) for ln in below):
            del lines[i:]
        return


def _looks_like_name_line(line: str) -> bool:
    stripped = line.strip()
    if len(stripped) > _MAX_NAME_CHARS or _QUOTED.match(line):
        return False
    return not re.search(r"[?!;]", stripped) and not stripped.endswith((".", ":", ","))
