"""NPWP, NIB, and SMILE's KPJ and NPP numbers with their MOD 11,10 check digit."""
import random

import pytest
from hypothesis import given, strategies as st

from chalicelib.registration.identifiers import (InvalidIdentifier, format_kpj, format_npp,
                                                 is_valid_kpj, is_valid_npp, kpj_check,
                                                 mod11_10_check_digit, normalize_nib,
                                                 normalize_npp, normalize_npwp)


def reason_of(call, *args, **kwargs) -> str:
    with pytest.raises(InvalidIdentifier) as caught:
        call(*args, **kwargs)
    return caught.value.reason


@pytest.mark.parametrize("typed, stored", [
    ("01.234.567.8-901.000", "0012345678901000"),   # old 15-digit, formatted
    ("012345678901000", "0012345678901000"),        # old 15-digit, bare
    ("0012345678901000", "0012345678901000"),       # 16-digit entity form
    ("3572011205900001", "3572011205900001"),       # an individual's NIK used as NPWP
    (" 0012 3456 7890 1000 ", "0012345678901000"),
])
def test_npwp_is_stored_as_16_digits(typed, stored):
    assert normalize_npwp(typed) == stored


@pytest.mark.parametrize("typed", ["12345678901234", "12345678901234567", "01.234.567.8-901.00A",
                                   "", "000000000000000", None, 12345678901234])
def test_a_malformed_npwp_is_refused(typed):
    assert reason_of(normalize_npwp, typed) == "NPWP_FORMAT"


def test_the_npwp_message_names_both_lengths():
    with pytest.raises(InvalidIdentifier, match="NPWP harus 15 atau 16 digit angka"):
        normalize_npwp("123")


def test_a_nib_is_13_digits():
    assert normalize_nib("9120001234567") == "9120001234567"
    for bad in ["912000123456", "91200012345678", "912000123456X", "0000000000000"]:
        assert reason_of(normalize_nib, bad) == "NIB_FORMAT"


def test_the_iso_7064_mod_11_10_reference_value():
    # Example published with ISO/IEC 7064 implementations (python-stdnum: '0794' -> '5').
    assert mod11_10_check_digit("0794") == "5"


def test_a_kpj_is_the_sequence_in_10_digits_plus_a_check_digit():
    kpj = format_kpj(1)

    assert len(kpj) == 11 and kpj.startswith("0000000001")
    assert is_valid_kpj(kpj)


def test_an_npp_is_the_sequence_in_8_digits_plus_a_check_digit():
    npp = format_npp(1234)

    assert len(npp) == 9 and npp.startswith("00001234")
    assert is_valid_npp(npp)
    assert normalize_npp(f" {npp[:4]}-{npp[4:]} ") == npp


@pytest.mark.parametrize("sequence", [0, -1, 10 ** 10, True, 1.0, "1"])
def test_a_kpj_needs_a_sequence_that_fits(sequence):
    with pytest.raises(ValueError):
        format_kpj(sequence)


def test_the_largest_sequences_still_fit():
    assert len(format_kpj(10 ** 10 - 1)) == 11
    assert len(format_npp(10 ** 8 - 1)) == 9


@given(st.integers(1, 10 ** 10 - 1), st.integers(0, 10), st.integers(1, 9))
def test_every_single_digit_typing_error_in_a_kpj_is_caught(sequence, position, shift):
    kpj = format_kpj(sequence)
    wrong_digit = str((int(kpj[position]) + shift) % 10)
    typo = kpj[:position] + wrong_digit + kpj[position + 1:]

    assert not is_valid_kpj(typo)


def test_most_adjacent_swaps_are_caught():
    generator = random.Random(7)
    caught = total = 0
    for _ in range(2000):
        kpj = format_kpj(generator.randrange(1, 10 ** 10))
        for i in range(10):
            if kpj[i] != kpj[i + 1]:
                total += 1
                caught += not is_valid_kpj(kpj[:i] + kpj[i + 1] + kpj[i] + kpj[i + 2:])
    assert caught / total > 0.95


def test_kpj_check_accepts_any_11_digits_typed_by_a_person():
    issued = format_kpj(5)
    legacy = issued[:-1] + str((int(issued[-1]) + 1) % 10)  # issued elsewhere: no SMILE check digit

    assert kpj_check(f"{legacy[:5]} {legacy[5:]}") == legacy
    assert not is_valid_kpj(legacy)


@pytest.mark.parametrize("typed", ["1234567890", "123456789012", "1234567890A", None])
def test_kpj_check_refuses_other_shapes(typed):
    assert reason_of(kpj_check, typed) == "KPJ_FORMAT"


@pytest.mark.parametrize("value", [None, 12345678901, "1234567890", "abcdefghijk"])
def test_is_valid_kpj_is_false_for_anything_else(value):
    assert is_valid_kpj(value) is False


def test_an_npp_with_a_wrong_check_digit_is_refused():
    npp = format_npp(42)
    wrong = npp[:-1] + str((int(npp[-1]) + 1) % 10)

    assert reason_of(normalize_npp, wrong) == "NPP_FORMAT"
    assert reason_of(normalize_npp, "1234") == "NPP_FORMAT"
