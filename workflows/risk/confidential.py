"""Confidential or internal content: review notes, embargoes, staff codes, internal links."""

from __future__ import annotations

import ipaddress
import re

from workflows.risk.context import Context
from workflows.risk.models import Finding

_PHRASES = re.compile(
    r"\b(?:internal only|internal use only|for internal use|do not share|don'?t share|"
    r"not for (?:publication|distribution|release)|do not (?:publish|post|forward)|"
    r"don'?t (?:publish|post)|strictly confidential|under embargo|embargoed|"
    r"embargo(?: until| till| fino)?|"
    r"solo (?:per )?uso interno|ad uso interno|uso interno|non divulgare|non pubblicare|"
    r"non diffondere|strettamente riservat[oa]|documento riservato|"
    r"informazioni riservate|riservat[oa] e confidenziale|bozza|"
    r"draft - do not|not final|non definitivo)\b"
)
# Upper-case review markers that are everyday words in lower case ("draft beer", "posti
# riservati", "tutti i diritti riservati", "your data stays confidential").
_MARKERS = re.compile(r"\b(?:DRAFT|RISERVATO|RISERVATA|INTERNAL|CONFIDENTIAL|CONFIDENZIALE)\b")
_STAFF_CODE = re.compile(
    r"\b(?:STAFF|EMPLOYEE|EMPLOYEES|DIPENDENTI|DIPENDENTE|INTERNO|INTERNAL|TEAM)[-_]?\d{1,3}\b"
    r"|\b(?:staff|employee|dipendenti) (?:discount )?(?:code|codice)\b"
)
_INTERNAL_SUFFIXES = (
    ".internal",
    ".local",
    ".corp",
    ".lan",
    ".intranet",
    ".localhost",
    ".test",
    ".example",
    ".invalid",
    ".home.arpa",
)
_INTERNAL_PREFIXES = (
    "staging.",
    "stage.",
    "stg.",
    "dev.",
    "test.",
    "uat.",
    "preprod.",
    "preview.",
    "intranet.",
    "jira.",
    "confluence.",
    "wiki.",
    "admin.",
    "internal.",
    "beta-staging.",
    "qa.",
)
_DOC_HOSTS = (
    "docs.google.com",
    "drive.google.com",
    "sharepoint.com",
    "atlassian.net",
    "notion.so",
    "dropbox.com",
    "figma.com",
    "trello.com",
    "miro.com",
)


_PHRASE_WORDS = frozenset(
    {
        "internal",
        "share",
        "publication",
        "distribution",
        "release",
        "publish",
        "post",
        "forward",
        "confidential",
        "embargo",
        "embargoed",
        "uso",
        "divulgare",
        "pubblicare",
        "diffondere",
        "riservato",
        "riservata",
        "riservate",
        "bozza",
        "draft",
        "final",
        "definitivo",
    }
)
_MARKER_WORDS = ("DRAFT", "RISERVAT", "INTERNAL", "CONFIDENTIAL", "CONFIDENZIALE")
_STAFF_WORDS = frozenset(
    {"staff", "employee", "employees", "dipendenti", "dipendente", "interno", "internal", "team"}
)


def _internal_host(host: str) -> bool:
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES):
        return True
    if host.startswith(_INTERNAL_PREFIXES):
        return True
    if not (host[:1].isdigit() or ":" in host):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def find(ctx: Context) -> list[Finding]:
    prepared = ctx.prepared
    findings: list[Finding] = []
    spans: set[tuple[int, int]] = set()
    matches = prepared.search_near(_PHRASES, prepared.lower, prepared.word_spots(_PHRASE_WORDS))
    if any(word in prepared.text for word in _MARKER_WORDS):
        matches += _MARKERS.finditer(prepared.text)
    if matches:
        for match in matches:
            if any(s <= match.start() and match.end() <= e for s, e in spans):
                continue
            spans.add((match.start(), match.end()))
            excerpt = prepared.text[match.start() : match.end()]
            findings.append(
                ctx.finding(
                    "confidential_or_leak",
                    "high",
                    match.start(),
                    match.end(),
                    f"'{excerpt}' reads like an internal note or "
                    "a restriction. Check the post is cleared for publication and remove the note.",
                    "confidential.marker",
                )
            )
    staff = prepared.search_near(_STAFF_CODE, prepared.text, prepared.word_spots(_STAFF_WORDS))
    for match in staff:
        findings.append(
            ctx.finding(
                "confidential_or_leak",
                "high",
                match.start(),
                match.end(),
                "Looks like a staff-only code. Publishing it gives the staff discount to everyone.",
                "confidential.staff_code",
            )
        )
    for url in prepared.urls:
        if _internal_host(url.host):
            findings.append(
                ctx.finding(
                    "confidential_or_leak",
                    "high",
                    url.start,
                    url.end,
                    f"Link to an internal or staging host ({url.host}). The public cannot open it "
                    "and it reveals internal systems. Use the public address.",
                    "confidential.internal_host",
                )
            )
        elif url.host.endswith(_DOC_HOSTS):
            findings.append(
                ctx.finding(
                    "confidential_or_leak",
                    "medium",
                    url.start,
                    url.end,
                    f"Link to a shared document ({url.host}). Check it is meant to be public and "
                    "its sharing settings are right.",
                    "confidential.document_link",
                )
            )
    return findings
