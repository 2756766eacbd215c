"""Collection letters: what they say (model), how they are numbered (numbering), how they
are drawn (render, fpdf2) and signed (signing, pyHanko).

Only the light modules are re-exported here; `render` and `signing` pull fpdf2, segno,
pyHanko and cryptography when their functions run, and only the letter consumer and tools
should import them.
"""
from .model import (
    Addressee, ArrearsLine, Branch, InvalidLetterData, LegalHandoverTarget, LetterData,
    LetterType, Recipient,
)
from .numbering import LetterNumber, format_letter_number, parse_letter_number

__all__ = [
    "Addressee", "ArrearsLine", "Branch", "InvalidLetterData", "LegalHandoverTarget",
    "LetterData", "LetterNumber", "LetterType", "Recipient", "format_letter_number",
    "parse_letter_number",
]
