"""Persian and Arabic-Indic digits, as people type them, turned into ASCII ones."""

_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def ascii_digits(text: str) -> str:
    """`text` with every Persian (U+06F0..9) and Arabic-Indic (U+0660..9) digit made ASCII."""
    return text.translate(_TO_ASCII)
