"""Classification of provider outcomes and the retry schedule."""
import random
from datetime import timedelta

import pytest

from chalicelib.blast.provider_errors import (
    Action,
    RetryPolicy,
    classify,
    retry_delay,
)


@pytest.mark.parametrize("kwargs, action, reason", [
    ({"error_code": 130429, "http_status": 400}, Action.RETRY, "throughput_limit"),
    ({"error_code": 131056}, Action.RETRY, "pair_rate_limit"),
    ({"error_code": 131000, "http_status": 500}, Action.RETRY, "something_went_wrong"),
    ({"error_code": 131016}, Action.RETRY, "service_unavailable"),
    ({"error_code": 133004}, Action.RETRY, "server_temporarily_unavailable"),
    ({"http_status": 503}, Action.RETRY, "http_503"),
    ({"http_status": 500}, Action.RETRY, "http_500"),
    ({"http_status": 429}, Action.RETRY, "http_429"),
    ({"timed_out": True}, Action.RETRY, "timeout"),
    ({"error_code": 131048}, Action.STOP, "spam_rate_limit"),
    ({"error_code": 131049}, Action.STOP, "ecosystem_engagement_limit"),
    ({"error_code": 131031}, Action.STOP, "account_locked"),
    ({"error_code": 190, "http_status": 401}, Action.STOP, "access_token_expired"),
    ({"error_code": 250}, Action.STOP, "api_permission"),
    ({"error_code": 131026}, Action.FALLBACK_SMS, "undeliverable"),
    ({"error_code": 131047}, Action.REENGAGE, "reengagement_required"),
    ({"error_code": 132000}, Action.PERMANENT, "template_param_count_mismatch"),
    ({"error_code": 100, "http_status": 400}, Action.PERMANENT, "invalid_parameter"),
    ({"http_status": 400}, Action.PERMANENT, "http_400"),
    ({"http_status": 404}, Action.PERMANENT, "http_404"),
    # An unknown code follows its HTTP status: transient when 5xx, permanent when 4xx.
    ({"error_code": 999999, "http_status": 502}, Action.RETRY, "http_502"),
    ({"error_code": 999999, "http_status": 400}, Action.PERMANENT, "http_400"),
    ({"error_code": 999999}, Action.PERMANENT, "unknown_error"),
])
def test_classification_table(kwargs, action, reason):
    result = classify(**kwargs)
    assert (result.action, result.reason) == (action, reason)


def test_the_code_wins_over_the_http_status():
    # Meta answers most errors with HTTP 400; 130429 must still be retried.
    assert classify(error_code=130429, http_status=400).action is Action.RETRY
    assert classify(error_code=131026, http_status=500).action is Action.FALLBACK_SMS


def test_pair_rate_limit_carries_a_six_second_minimum():
    assert classify(error_code=131056).min_delay == timedelta(seconds=6)
    assert classify(error_code=130429).min_delay == timedelta(0)


@pytest.mark.parametrize("kwargs", [{}, {"http_status": 200}, {"http_status": 202}])
def test_successes_and_nothing_are_not_classified(kwargs):
    with pytest.raises(ValueError):
        classify(**kwargs)


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(base=timedelta(seconds=2), cap=timedelta(seconds=60), max_attempts=10)
    almost_one = lambda: 0.999999  # noqa: E731 - the top of each jitter range
    ceilings = [policy.delay(n, almost_one).total_seconds() for n in range(1, 8)]
    assert [round(c) for c in ceilings] == [2, 4, 8, 16, 32, 60, 60]
    assert policy.delay(1, lambda: 0.0) == timedelta(0)
    assert policy.delay(10_000, almost_one) <= timedelta(seconds=60)


def test_backoff_jitter_comes_from_the_injected_random_and_stays_in_range():
    policy = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(minutes=5))
    first = [policy.delay(n, random.Random(7).random) for n in range(1, 7)]
    again = [policy.delay(n, random.Random(7).random) for n in range(1, 7)]
    assert first == again
    rng = random.Random(1)
    for attempt in range(1, 7):
        for _ in range(50):
            delay = policy.delay(attempt, rng.random)
            assert timedelta(0) <= delay <= min(policy.cap, policy.base * 2 ** (attempt - 1))


def test_pair_rate_limit_retry_never_comes_sooner_than_six_seconds():
    pair = classify(error_code=131056)
    for attempt in (1, 2, 3):
        assert retry_delay(pair, attempt, lambda: 0.0) == timedelta(seconds=6)
    assert retry_delay(pair, 5, lambda: 0.5) >= timedelta(seconds=6)


def test_retries_stop_after_the_last_attempt():
    throttled = classify(error_code=130429)
    policy = RetryPolicy(max_attempts=3)
    assert retry_delay(throttled, 3, lambda: 0.5, policy) is not None
    assert retry_delay(throttled, 4, lambda: 0.5, policy) is None


def test_only_retry_outcomes_get_a_retry_delay():
    with pytest.raises(ValueError):
        retry_delay(classify(error_code=131026), 1, lambda: 0.5)
