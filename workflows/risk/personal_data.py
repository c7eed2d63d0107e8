"""Personal data: e-mail addresses, phone numbers, IBANs, Italian codici fiscali, card numbers.

The brand's own public contacts (`own_contacts`) are never reported. Toll-free and shared-cost
numbers are business lines, not personal data.
"""

from __future__ import annotations

import re

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
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CF = re.compile(
    r"\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b",
    re.IGNORECASE,
)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d ()./-]{6,17}\d(?!\w)")
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


def _own(ctx: Context) -> tuple[set[str], set[str], set[str]]:
    emails, domains, phones = set(), set(), set()
    for contact in ctx.config.own_contacts:
        value = contact.lower()
        if value.startswith("@"):
            domains.add(value[1:])
        elif "@" in value:
            emails.add(value)
        else:
            key = _phone_key(contact)
            if key:
                phones.add(key)
    return emails, domains, phones


def find(ctx: Context) -> list[Finding]:
    text = ctx.prepared.text
    if not any(c.isdigit() for c in text) and "@" not in text:
        return []
    emails, domains, phones = _own(ctx)
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, severity: Severity, message: str, rule: str) -> None:
        taken.append((start, end))
        findings.append(ctx.finding("personal_data", severity, start, end, message, rule))

    if "@" in text:
        for match in _EMAIL.finditer(text):
            address = match.group().lower()
            local, _, domain = address.partition("@")
            if address in emails or domain in domains:
                continue
            if _ROLE.fullmatch(local):
                add(
                    match.start(),
                    match.end(),
                    "low",
                    "Looks like a shared business address. If it is the brand's own, add it "
                    "to risk.own_contacts; otherwise check its owner agreed to publish it.",
                    "personal_data.role_email",
                )
            else:
                add(
                    match.start(),
                    match.end(),
                    "medium",
                    "An e-mail address that may belong to a person. Never publish a "
                    "customer's or colleague's address; remove it.",
                    "personal_data.email",
                )
    for match in _IBAN.finditer(text):
        if _iban_ok(match.group()):
            add(
                match.start(),
                match.end(),
                "high",
                "A bank account number (IBAN). Remove it unless it is the brand's official "
                "fundraising account, approved by finance.",
                "personal_data.iban",
            )
    for match in _CF.finditer(text):
        if _cf_ok(match.group()):
            add(
                match.start(),
                match.end(),
                "high",
                "An Italian codice fiscale identifies a person. Remove it.",
                "personal_data.codice_fiscale",
            )
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if _luhn_ok(digits) and not _overlaps(match.start(), match.end(), taken):
            add(
                match.start(),
                match.end(),
                "high",
                "Looks like a payment card number. Remove it now.",
                "personal_data.card",
            )
    for match in _PHONE.finditer(text):
        if _overlaps(match.start(), match.end(), taken):
            continue
        if sum(c.isdigit() for c in match.group()) < 8:
            continue
        try:
            number = phonenumbers.parse(match.group(), "IT")
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        if phonenumbers.number_type(number) in _BUSINESS_LINES:
            continue
        if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) in phones:
            continue
        add(
            match.start(),
            match.end(),
            "medium",
            "A phone number. If it is the brand's own, add it to risk.own_contacts; never "
            "publish a customer's or colleague's number.",
            "personal_data.phone",
        )
    return findings


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)
