"""What to do after a provider said no: classify an outcome, and how long to wait to retry.

Classification is by error code first (Meta's codes are the reliable signal; the HTTP status
of a Graph API error is usually 400 whatever the cause), then by HTTP status, never by the
message text. Actions:

- RETRY: transient; send the same message again after `retry_delay` (never sooner than
  `Classification.min_delay`, e.g. 6 s after a pair rate limit).
- STOP: the business/number is throttled or blocked (spam limit, ecosystem limit, locked
  account, payment problem, revoked token): halt the campaign for this sender, lower the
  volume, alert a person. The recipient is not at fault, so nothing is marked failed.
- FALLBACK_SMS: WhatsApp cannot reach this person (131026): send the SMS variant.
- REENGAGE: a free-form message outside the 24-hour window (131047): send a template instead.
- PERMANENT: this message will never succeed as it is (bad parameter, template mismatch,
  other 4xx): mark it failed with its reason.

Codes from Meta's Cloud API error-code reference (developers.facebook.com, WhatsApp Business
Platform > Support > Error codes) and domain.md section 6.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Callable


class Action(str, Enum):
    RETRY = "RETRY"
    STOP = "STOP"
    FALLBACK_SMS = "FALLBACK_SMS"
    REENGAGE = "REENGAGE"
    PERMANENT = "PERMANENT"


@dataclass(frozen=True)
class Classification:
    action: Action
    reason: str                      # stable machine-readable reason, for logs and metrics
    code: int | None = None
    http_status: int | None = None
    min_delay: timedelta = timedelta(0)


PAIR_RATE_LIMIT_DELAY = timedelta(seconds=6)

# code -> (action, reason)
_BY_CODE: dict[int, tuple[Action, str]] = {
    # Throughput and transient platform errors.
    130429: (Action.RETRY, "throughput_limit"),          # per-number messages per second
    131056: (Action.RETRY, "pair_rate_limit"),           # same business -> same user too fast
    4: (Action.RETRY, "app_call_limit"),
    80007: (Action.RETRY, "waba_rate_limit"),
    1: (Action.RETRY, "api_unknown"),
    2: (Action.RETRY, "api_service_unavailable"),
    131000: (Action.RETRY, "something_went_wrong"),
    131016: (Action.RETRY, "service_unavailable"),
    133004: (Action.RETRY, "server_temporarily_unavailable"),
    # Quality and volume limits: stop and lower volume (domain.md section 6).
    131048: (Action.STOP, "spam_rate_limit"),
    131049: (Action.STOP, "ecosystem_engagement_limit"),
    # The sending account cannot send at all until a person fixes it.
    131031: (Action.STOP, "account_locked"),
    131042: (Action.STOP, "payment_issue"),
    368: (Action.STOP, "temporarily_blocked_policy"),
    0: (Action.STOP, "auth_exception"),
    190: (Action.STOP, "access_token_expired"),
    10: (Action.STOP, "permission_denied"),
    132015: (Action.STOP, "template_paused"),
    132016: (Action.STOP, "template_disabled"),
    # Recipient side.
    131026: (Action.FALLBACK_SMS, "undeliverable"),      # not on WhatsApp, old client, no ToS
    131047: (Action.REENGAGE, "reengagement_required"),  # outside the 24-hour window
    131050: (Action.PERMANENT, "user_stopped_marketing"),
    # Our request is wrong: no retry will fix it.
    100: (Action.PERMANENT, "invalid_parameter"),
    131008: (Action.PERMANENT, "required_parameter_missing"),
    131009: (Action.PERMANENT, "parameter_value_invalid"),
    131021: (Action.PERMANENT, "recipient_is_sender"),
    131051: (Action.PERMANENT, "unsupported_message_type"),
    131052: (Action.PERMANENT, "media_download_error"),
    132000: (Action.PERMANENT, "template_param_count_mismatch"),
    132001: (Action.PERMANENT, "template_does_not_exist"),
    132005: (Action.PERMANENT, "template_text_too_long"),
    132007: (Action.PERMANENT, "template_format_policy"),
    132012: (Action.PERMANENT, "template_param_format_mismatch"),
}
# API permission errors are the whole range 200-299.
_PERMISSION_RANGE = range(200, 300)


def classify(*, error_code: int | None = None, http_status: int | None = None,
             timed_out: bool = False) -> Classification:
    """Classify one failed attempt: a provider error code (from the Graph API error body or a
    failed-status webhook), the HTTP status of the send call, or a timeout with no answer."""
    if error_code is not None:
        if not isinstance(error_code, int) or isinstance(error_code, bool):
            raise TypeError("error_code must be an int")
        if error_code in _BY_CODE:
            action, reason = _BY_CODE[error_code]
        elif error_code in _PERMISSION_RANGE:
            action, reason = Action.STOP, "api_permission"
        else:
            action, reason = _by_http(http_status, default=(Action.PERMANENT, "unknown_error"))
        min_delay = PAIR_RATE_LIMIT_DELAY if error_code == 131056 else timedelta(0)
        return Classification(action, reason, error_code, http_status, min_delay)
    if timed_out:
        return Classification(Action.RETRY, "timeout", None, http_status)
    if http_status is None:
        raise ValueError("nothing to classify: give an error code, an HTTP status or timed_out")
    if 200 <= http_status < 300:
        raise ValueError(f"HTTP {http_status} is not a failure")
    action, reason = _by_http(http_status, default=(Action.PERMANENT, f"http_{http_status}"))
    return Classification(action, reason, None, http_status)


def _by_http(status: int | None, default: tuple[Action, str]) -> tuple[Action, str]:
    if status == 429:
        return Action.RETRY, "http_429"
    if status is not None and status >= 500:
        return Action.RETRY, f"http_{status}"
    if status is not None and 400 <= status < 500:
        return Action.PERMANENT, f"http_{status}"
    return default


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped, and a bounded number of attempts.

    The delay before retry number `attempt` (1 = first retry) is drawn uniformly from
    [floor, ceiling]: floor is the classification's minimum delay (6 s after a pair rate
    limit, else 0) and ceiling = max(floor, min(cap, base * 2 ** (attempt - 1))). Spreading
    retries this way keeps a throttled campaign from retrying in lockstep.
    """

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=15)
    max_attempts: int = 6

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base or self.max_attempts < 1:
            raise ValueError("need base > 0, cap >= base and max_attempts >= 1")

    def should_retry(self, attempt: int) -> bool:
        """Whether retry number `attempt` (1-based) is still allowed."""
        return 1 <= attempt <= self.max_attempts

    def delay(self, attempt: int, random: Callable[[], float],
              min_delay: timedelta = timedelta(0)) -> timedelta:
        """Delay before retry `attempt`. `random()` returns a float in [0, 1) (inject
        `random.Random(seed).random` in tests, `random.random` in production)."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        # Bound the exponent so huge attempt numbers do not build huge integers.
        exponent = min(attempt - 1, 32)
        floor = max(min_delay, timedelta(0))
        ceiling = max(min(self.cap, self.base * (2 ** exponent)), floor)
        draw = random()
        if not 0.0 <= draw < 1.0:
            raise ValueError("random() must return a float in [0, 1)")
        spread = (ceiling - floor).total_seconds()
        return floor + timedelta(seconds=spread * draw)


def retry_delay(classification: Classification, attempt: int, random: Callable[[], float],
                policy: RetryPolicy = RetryPolicy()) -> timedelta | None:
    """When to retry a RETRY-class outcome; None once the attempts are used up (the caller
    then marks the message failed, or lets the queue move it to its dead-letter queue)."""
    if classification.action is not Action.RETRY:
        raise ValueError(f"{classification.action.value} outcomes are not retried")
    if not policy.should_retry(attempt):
        return None
    return policy.delay(attempt, random, classification.min_delay)
