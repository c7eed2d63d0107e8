"""Legal, financial and medical claims that regulators and lawyers read literally.

Guarantees are only flagged when they promise an outcome (results, returns, a cure):
"guaranteed delivery" or "soddisfatti o rimborsati" are ordinary commerce.
"""

from __future__ import annotations

import re

from workflows.risk.context import Context
from workflows.risk.models import Finding, Severity

_DISEASE = (
    r"(?:cancer|tumou?rs?|diabetes|covid(?:-19)?|arthritis|acne|anxiety|depression|insomnia|"
    r"hair loss|baldness|obesity|infections?|flu|alzheimer'?s|asthma|migraines?|eczema|"
    r"cancro|tumori|tumore|diabete|artrite|ansia|depressione|insonnia|calvizie|obesit[aà]|"
    r"infezioni|infezione|influenza|asma|emicrania|cellulite|psoriasi|herpes)"
)
# (rule, severity, message, words one of which must be in the post, pattern)
_RULES: list[tuple[str, Severity, str, frozenset[str], re.Pattern[str]]] = [
    (
        "claims.cure",
        "high",
        "A medical claim (cures or treats a disease) needs proof and is often illegal in "
        "ads. Remove it or have legal approve the exact wording.",
        frozenset(
            {
                "cure",
                "cures",
                "heal",
                "heals",
                "treat",
                "treats",
                "prevent",
                "prevents",
                "reverse",
                "reverses",
                "fight",
                "fights",
                "eliminate",
                "eliminates",
                "cura",
                "curare",
                "guarisce",
                "guarire",
                "previene",
                "sconfigge",
                "elimina",
                "miracle",
                "miracolosa",
                "rimedio",
                "definitiva",
            }
        ),
        re.compile(
            rf"\b(?:cures?|heals?|treats?|prevents?|reverses?|fights?|eliminates?|"
            rf"cura(?:re)?|guarisce|guarire|previene|sconfigge|elimina)\s+"
            rf"(?:\w+(?:\s+|['’])){{0,2}}{_DISEASE}\b"
            rf"|\b(?:miracle cure|cura miracolosa|rimedio miracoloso|cura definitiva)\b"
        ),
    ),
    (
        "claims.clinical",
        "medium",
        "'Clinically proven' style claims need the study behind them. Keep the proof on file "
        "or soften the wording.",
        frozenset(
            {
                "clinically",
                "scientifically",
                "clinicamente",
                "scientificamente",
                "fda",
                "ministry",
                "approvato",
                "approvata",
                "side",
                "effetti",
            }
        ),
        re.compile(
            r"\bclinically (?:proven|tested|shown)\b|\bscientifically proven\b"
            r"|\bclinicamente (?:testat|provat|dimostrat)[oaie]\b"
            r"|\bscientificamente (?:provat|dimostrat)[oaie]\b"
            r"|\b(?:fda|ministry of health)[- ]approved\b|\bapprovat[oa] dal ministero\b"
            r"|\b(?:no|zero|nessun|senza) (?:side effects|effetti collaterali)\b"
        ),
    ),
    (
        "claims.guaranteed_outcome",
        "high",
        "A guaranteed outcome (results, returns, weight loss) is a promise the brand can be "
        "held to. Remove 'guaranteed' or state the real conditions.",
        frozenset(
            {
                "guaranteed",
                "garantito",
                "garantiti",
                "double",
                "raddoppia",
                "raddoppiare",
                "rich",
                "arricchirsi",
            }
        ),
        re.compile(
            r"\bguaranteed (?:results?|returns?|profits?|income|gains|weight loss|success|"
            r"to (?:lose|win|earn|double|cure|work))\b"
            r"|\b(?:results?|returns?|profits?|income|weight loss) (?:are |is )?guaranteed\b"
            r"|\b(?:rendiment[oi]|guadagn[oi]|risultat[oi]|profitt[oi]|dimagrimento|"
            r"interessi) garantit[oi]\b"
            r"|\bgarantit[oi] (?:il |i )?(?:rendiment[oi]|guadagn[oi]|risultat[oi])\b"
            r"|\bdouble your money\b|\braddoppia(?:re)? i (?:tuoi )?soldi\b"
            r"|\bget rich\b|\barricchirsi\b"
        ),
    ),
    (
        "claims.no_risk",
        "high",
        "'Risk-free' or 'zero risk' about money or health is a claim regulators act on. "
        "Remove it or have legal approve it.",
        frozenset({"risk", "rischi"}),
        re.compile(
            r"\brisk[- ]free (?:investments?|returns?|profits?|income|gains|trading)\b"
            r"|\b(?:investments?|returns?) (?:are |is )?risk[- ]free\b"
            r"|\bno[- ]risk (?:investments?|returns?|trading)\b"
            r"|\bzero rischi\b|\binvestiment[oi] senza rischi\b"
        ),
    ),
    (
        "claims.weight_loss",
        "medium",
        "Promising a set weight loss in a set time is a health claim. Remove the figures or "
        "have legal approve them.",
        frozenset({"lose", "perdi", "perdere", "dimagrisci", "dimagrire"}),
        re.compile(
            r"\blose \d+\s?(?:kg|kilos|lbs?|pounds) in\b"
            r"|\b(?:perdi|perdere|dimagrisci|dimagrire) \d+\s?(?:kg|chili|chilogrammi) in\b"
        ),
    ),
]


def find(ctx: Context) -> list[Finding]:
    lower = ctx.prepared.lower
    findings: list[Finding] = []
    for rule, severity, message, words, pattern in _RULES:
        if not ctx.prepared.has_any(words):
            continue
        for match in ctx.prepared.search_near(pattern, lower, ctx.prepared.word_spots(words)):
            findings.append(
                ctx.finding(
                    "legal_or_medical_claim",
                    severity,
                    match.start(),
                    match.end(),
                    message,
                    rule,
                )
            )
    return findings
