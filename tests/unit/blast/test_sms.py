"""SMS encoding and segment counts (GSM 03.38 / UCS-2)."""
import pytest

from chalicelib.blast.sms import SmsEncoding, is_gsm7, non_gsm7_characters, segments


@pytest.mark.parametrize("text, expected", [
    ("", SmsEncoding("GSM-7", 0, 1)),
    ("a" * 160, SmsEncoding("GSM-7", 160, 1)),
    ("a" * 161, SmsEncoding("GSM-7", 161, 2)),
    ("a" * 306, SmsEncoding("GSM-7", 306, 2)),
    ("a" * 307, SmsEncoding("GSM-7", 307, 3)),
    # One extension character costs two septets.
    ("a" * 158 + "€", SmsEncoding("GSM-7", 160, 1)),
    ("a" * 159 + "€", SmsEncoding("GSM-7", 161, 2)),
    ("a" * 150 + "[]{}", SmsEncoding("GSM-7", 158, 1)),
    # Basic-table accents and Greek stay GSM-7.
    ("Pembayaran Rp16.800 diterima @ kantor pos; é à Ñ Δ", None),
    # A non-GSM character or an emoji forces UCS-2: 70 / 67 units.
    ("a" * 69 + "ş", SmsEncoding("UCS-2", 70, 1)),
    ("a" * 70 + "ş", SmsEncoding("UCS-2", 71, 2)),
    ("a" * 133 + "ş", SmsEncoding("UCS-2", 134, 2)),
    ("a" * 134 + "ş", SmsEncoding("UCS-2", 135, 3)),
    ("Terima kasih 🙏", SmsEncoding("UCS-2", 15, 1)),
    ("Rp16.800 — lunas", SmsEncoding("UCS-2", 16, 1)),   # em dash is not in GSM-7
])
def test_segment_counts(text, expected):
    result = segments(text)
    if expected is None:
        assert result.encoding == "GSM-7" and result.segments == 1
    else:
        assert result == expected


def test_an_escape_pair_is_never_split_across_segments():
    # 152 plain + "€" (2 septets) = 154: the pair cannot start at septet 153 of segment 1.
    text = "a" * 152 + "€" + "b" * 152
    result = segments(text)
    assert result.length == 306
    assert result.segments == 3   # naive ceil(306 / 153) would say 2


def test_a_surrogate_pair_is_never_split_across_segments():
    text = "ş" * 66 + "🙂" + "ş" * 66   # 134 units, emoji would straddle units 67/68
    result = segments(text)
    assert result == SmsEncoding("UCS-2", 134, 3)


def test_non_gsm_characters_are_listed_once_in_order():
    assert non_gsm7_characters("a—b—c🙂") == ["—", "🙂"]
    assert is_gsm7("SALDO 12345678901")
    assert not is_gsm7("SALDO 🙂")
