"""Personal data: e-mail addresses, phone numbers, IBANs, Italian codici fiscali, card numbers.

The brand's own public contacts (`own_contacts`) are never reported. Toll-free and shared-cost
numbers are business lines, not personal data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from workflows.risk.context import Context
from workflows.risk.models import Finding, Severity

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ROLE = re.compile(
    r"(?:info|support|help|assistenza|press|stampa|hello|ciao|contact|contatti|sales|vendite|"
    r"marketing|privacy|noreply|no-reply|customer\w*|care|servizio\w*|ordini|orders|jobs|"
    r"careers|lavoraconnoi|hr|admin|office|segreteria|ufficio\w*|commerciale|booking|"
    r"prenotazioni|eventi|events|shop|negozio|team|social|media)\b"
)
_IBAN = re.compile(r"\b[A-Z]{2} ?\d{2}(?: ?[A-Z0-9]){11,30}\b", re.IGNORECASE)
_IBAN_COMPACT = re.compile(r"[a-z]{2}\d{2}[a-z0-9]{11,30}")
# Runs of digits with the separators people type in numbers: candidate phones and cards.
_DIGIT_RUN = re.compile(r"\d[\d ().\-/]{6,32}\d")
_CF = re.compile(
    r"\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b",
    re.IGNORECASE,
)
_CARD = re.compile(r"\d(?:[ -]?\d){12,18}")
_BUSINESS_LINES = {
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.UAN,
}


def _iban_ok(value: str) -> bool:
    compact = value.replace(" ", "")
    rotated = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rotated)
    return int(digits) % 97 == 1


_CF_ODD = [
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
]


def _cf_ok(value: str) -> bool:
    """Check character of the codice fiscale (digits count as the letters A-J)."""
    value = value.upper()
    total = 0
    for i, char in enumerate(value[:15]):
        index = int(char) if char.isdigit() else ord(char) - 65
        total += _CF_ODD[index] if i % 2 == 0 else index
    return chr(65 + total % 26) == value[15]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _phone_key(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, "IT")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=64)
def _own(contacts: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The brand's own e-mails, '@domains' and phone numbers (E.164), parsed once."""
    emails, domains, phones = set(), set(), set()
    for contact in contacts:
        value = contact.lower()
        if value.startswith("@"):
            domains.add(value[1:])
        elif "@" in value:
            emails.add(value)
        else:
            key = _phone_key(contact)
            if key:
                phones.add(key)
    return frozenset(emails), frozenset(domains), frozenset(phones)


def find(ctx: Context) -> list[Finding]:
    prepared = ctx.prepared
    text = prepared.text
    has_digits = any(d in text for d in "0123456789")
    if not has_digits and "@" not in text:
        return []
    emails, domains, phones = _own(tuple(ctx.config.own_contacts))
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, severity: Severity, message: str, rule: str) -> None:
        taken.append((start, end))
        findings.append(ctx.finding("personal_data", severity, start, end, message, rule))

    for start, end in _emails(text):
        address = text[start:end].lower()
        local, _, domain = address.partition("@")
        if address in emails or domain in domains:
            continue
        if _ROLE.fullmatch(local):
            add(
                start,
                end,
                "low",
                "Looks like a shared business address. If it is the brand's own, add it "
                "to risk.own_contacts; otherwise check its owner agreed to publish it.",
                "personal_data.role_email",
            )
        else:
            add(
                start,
                end,
                "medium",
                "An e-mail address that may belong to a person. Never publish a "
                "customer's or colleague's address; remove it.",
                "personal_data.email",
            )
    if not has_digits:
        return findings
    for code in prepared.codes:
        if _CF.fullmatch(code) and _cf_ok(code):
            for start, end in prepared.locate(code):
                add(
                    start,
                    end,
                    "high",
                    "An Italian codice fiscale identifies a person. Remove it.",
                    "personal_data.codice_fiscale",
                )
        elif _IBAN_COMPACT.fullmatch(code) and _iban_ok(code.upper()):
            for start, end in prepared.locate(code):
                add(start, end, "high", _IBAN_MESSAGE, "personal_data.iban")
    for run in _DIGIT_RUN.finditer(text):
        if _overlaps(run.start(), run.end(), taken):
            continue
        iban = _IBAN.search(text, max(0, run.start() - 12), run.end())
        if iban and _iban_ok(iban.group().upper()):
            add(iban.start(), iban.end(), "high", _IBAN_MESSAGE, "personal_data.iban")
            continue
        card = _CARD.search(run.group())
        if card and _luhn_ok(re.sub(r"\D", "", card.group())):
            start = run.start() + card.start()
            add(
                start,
                start + len(card.group()),
                "high",
                "Looks like a payment card number. Remove it now.",
                "personal_data.card",
            )
            continue
        _phone(ctx, run, phones, add)
    return findings


_IBAN_MESSAGE = (
    "A bank account number (IBAN). Remove it unless it is the brand's official "
    "fundraising account, approved by finance."
)


def _emails(text: str) -> list[tuple[int, int]]:
    """Spans of e-mail addresses, looking only around each '@'."""
    spans: list[tuple[int, int]] = []
    at = text.find("@")
    while at != -1:
        start = max(text.rfind(c, 0, at) for c in " \n\t(<[,;:'\"") + 1
        match = _EMAIL.match(text, start)
        if match and match.start() <= at < match.end():
            spans.append((match.start(), match.end()))
            at = text.find("@", match.end())
        else:
            at = text.find("@", at + 1)
    return spans


# Numbers that look like phones but follow a label saying what they are.
_NOT_A_PHONE = re.compile(
    r"(?:p\.?\s?iva|partita iva|vat(?: no\.?| number)?|c\.?f\.?|ordine|order|n\.|no\.|"
    r"codice|cod\.|code|isbn|ean|sku|art\.|tracking|fattura|invoice|rea)\W{0,3}$"
)


def _phone(
    ctx: Context,
    run: re.Match[str],
    own: frozenset[str],
    add: Callable[[int, int, Severity, str, str], None],
) -> None:
    if _NOT_A_PHONE.search(ctx.prepared.lower, max(0, run.start() - 16), run.start()):
        return
    value = run.group().strip("().-/ ")
    if run.start() > 0 and ctx.prepared.text[run.start() - 1] == "+":
        value = "+" + value
    if sum(c.isdigit() for c in value) < 8:
        return
    try:
        number = phonenumbers.parse(value, "IT")
    except phonenumbers.NumberParseException:
        return
    if not phonenumbers.is_valid_number(number):
        return
    if phonenumbers.number_type(number) in _BUSINESS_LINES:
        return
    if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) in own:
        return
    start = run.start() + run.group().find(value.lstrip("+")) - value.startswith("+")
    add(
        start,
        start + len(value),
        "medium",
        "A phone number. If it is the brand's own, add it to risk.own_contacts; never "
        "publish a customer's or colleague's number.",
        "personal_data.phone",
    )


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)
