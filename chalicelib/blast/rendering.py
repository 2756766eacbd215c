"""Render a template with typed values: the WhatsApp Cloud API payload, the SMS text and a
preview, all from the same formatted values so both channels say the same thing.

Values are checked against the template's declared parameter types: an amount is an int of
rupiah (never a float or a preformatted string), a date is a `datetime.date`, a period a
`Period` or "YYYY-MM". Text is whitespace-collapsed because WhatsApp refuses parameters with
new lines, tabs or more than four consecutive spaces.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from ..shared_kernel.calendar import Period
from ..shared_kernel.formatting import format_date_long, format_number, format_rupiah
from .sms import SmsEncoding, segments
from .templates.catalog import (
    PLACEHOLDER,
    WHATSAPP_TEMPLATE_BODY_MAX,
    WHATSAPP_TEXT_BODY_MAX,
    ParamType,
    Template,
    TemplateCatalog,
    WhatsAppMode,
)

_WHITESPACE = re.compile(r"\s+")
_WA_ID = re.compile(r"^[1-9][0-9]{7,14}$")
CALLBACK_DATA_MAX = 512  # Meta's limit for biz_opaque_callback_data


class RenderError(ValueError):
    """A value is missing, unknown or of the wrong type for the template."""


@dataclass(frozen=True)
class RenderedMessage:
    template: Template
    values: Mapping[str, str]       # every parameter, formatted as the participant reads it
    body_text: str                  # the WhatsApp body as the recipient sees it
    sms_text: str
    preview_text: str               # body plus header/button hints, for outbox and console

    def whatsapp_payload(self, to_digits: str, *, callback_data: str | None = None) -> dict:
        """The JSON body of POST /{phone-number-id}/messages.

        `to_digits` is the E.164 number without "+" (628123456789). `callback_data` comes back
        in every status webhook for this message as `biz_opaque_callback_data`.
        """
        if not isinstance(to_digits, str) or not _WA_ID.match(to_digits):
            raise RenderError("recipient must be E.164 digits without '+', e.g. '628123456789'")
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to_digits,
        }
        template = self.template
        if template.whatsapp_mode is WhatsAppMode.TEXT:
            payload["type"] = "text"
            payload["text"] = {"preview_url": False, "body": self.body_text}
        else:
            components: list[dict[str, Any]] = []
            if template.header is not None:
                components.append({
                    "type": "header",
                    "parameters": [{
                        "type": "document",
                        "document": {
                            "link": self.values[template.header.link_param],
                            "filename": self.values[template.header.filename_param],
                        },
                    }],
                })
            if template.body_params:
                components.append({
                    "type": "body",
                    "parameters": [{"type": "text", "text": self.values[name]}
                                   for name in template.body_params],
                })
            if template.button is not None:
                components.append({
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text",
                                    "text": self.values[template.button.suffix_param]}],
                })
            payload["type"] = "template"
            payload["template"] = {
                "name": template.name,
                "language": {"code": template.language},
                "components": components,
            }
        if callback_data is not None:
            if not isinstance(callback_data, str) or not 0 < len(callback_data) <= CALLBACK_DATA_MAX:
                raise RenderError(f"callback_data must be 1..{CALLBACK_DATA_MAX} characters")
            payload["biz_opaque_callback_data"] = callback_data
        return payload

    def sms_encoding(self) -> SmsEncoding:
        return segments(self.sms_text)


def render(template_name: str, params: Mapping[str, Any], *,
           catalog: TemplateCatalog | None = None) -> RenderedMessage:
    """Render a template of the catalog (the shipped one unless given) with `params`."""
    if catalog is None:
        from .templates import default_catalog

        catalog = default_catalog()
    try:
        template = catalog[template_name]
    except KeyError as exc:
        raise RenderError(exc.args[0]) from None
    return render_template(template, params)


def render_json(template_name: str, params: Mapping[str, Any], *,
                catalog: TemplateCatalog | None = None) -> RenderedMessage:
    """Render from parameters as a queue message carries them (the MessageRequest contract:
    dates as ISO "YYYY-MM-DD" strings, periods "YYYY-MM", amounts int)."""
    if catalog is None:
        from .templates import default_catalog

        catalog = default_catalog()
    try:
        template = catalog[template_name]
    except KeyError as exc:
        raise RenderError(exc.args[0]) from None
    if not isinstance(params, Mapping):
        raise RenderError("params must be a mapping of parameter name to value")
    return render_template(template, typed_params(template, params))


def typed_params(template: Template, params: Mapping[str, Any]) -> dict[str, Any]:
    """JSON values to the types the template declares: ISO date strings become dates (also
    inside a list of bills). Anything else is left for render_template to check."""
    typed = dict(params)
    for param in template.params:
        if param.name not in typed:
            continue
        value = typed[param.name]
        if param.type is ParamType.DATE:
            typed[param.name] = _iso_date(template.name, param.name, value)
        elif param.type is ParamType.BILLS and isinstance(value, Sequence) \
                and not isinstance(value, (str, bytes)):
            typed[param.name] = [
                {**bill, "jatuh_tempo": _iso_date(template.name, param.name,
                                                  bill.get("jatuh_tempo"))}
                if isinstance(bill, Mapping) and "jatuh_tempo" in bill else bill
                for bill in value]
    return typed


def _iso_date(template: str, name: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise RenderError(f"template {template!r}: parameter {name!r} must be an ISO "
                              f"date 'YYYY-MM-DD', got {value!r}") from None
    return value


def render_template(template: Template, params: Mapping[str, Any]) -> RenderedMessage:
    if not isinstance(params, Mapping):
        raise RenderError("params must be a mapping of parameter name to value")
    declared = template.param_names
    missing = [name for name in declared if name not in params]
    unknown = sorted(set(params) - set(declared))
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(unknown))
        raise RenderError(f"template {template.name!r}: {'; '.join(parts)} "
                          f"(expected: {', '.join(declared)})")

    values = {p.name: _format(template.name, p.name, p.type, params[p.name])
              for p in template.params}

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

    body_text = fill(template.body)
    limit = (WHATSAPP_TEMPLATE_BODY_MAX if template.whatsapp_mode is WhatsAppMode.TEMPLATE
             else WHATSAPP_TEXT_BODY_MAX)
    if len(body_text) > limit:
        raise RenderError(f"template {template.name!r}: body has {len(body_text)} characters "
                          f"with these values, more than WhatsApp's {limit}")
    preview = [body_text]
    if template.header is not None:
        preview.insert(0, f"[Dokumen: {values[template.header.filename_param]}]")
    if template.button is not None:
        button = template.button
        preview.append(f"[{button.text}: {button.url_prefix}{values[button.suffix_param]}]")
    return RenderedMessage(
        template=template,
        values=MappingProxyType(values),
        body_text=body_text,
        sms_text=fill(template.sms),
        preview_text="\n\n".join(preview),
    )


# --- value formatting --------------------------------------------------------------------

def _format(template: str, name: str, kind: ParamType, value: Any) -> str:
    def fail(expected: str) -> RenderError:
        return RenderError(f"template {template!r}: parameter {name!r} must be {expected}, "
                           f"got {type(value).__name__} {value!r}")

    if kind is ParamType.AMOUNT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail("an int of rupiah")
        if value < 0:
            raise fail("a non-negative amount")
        return format_rupiah(value)
    if kind is ParamType.NUMBER:
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail("an int")
        return format_number(value)
    if kind is ParamType.DATE:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise fail("a datetime.date (an instant is ambiguous; convert it in Asia/Jakarta)")
        return format_date_long(value)
    if kind is ParamType.PERIOD:
        return _format_period(value, fail)
    if kind is ParamType.URL:
        if not isinstance(value, str) or not re.fullmatch(r"https://\S+", value):
            raise fail("an https:// URL without spaces")
        return value
    if kind is ParamType.LIST:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
            raise fail("a non-empty list of texts")
        items = []
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise fail("a non-empty list of non-empty texts")
            items.append(_clean(item))
        return "; ".join(f"{i}) {item}" for i, item in enumerate(items, start=1))
    if kind is ParamType.BILLS:
        return _format_bills(value, fail)
    # TEXT
    if not isinstance(value, str) or not value.strip():
        raise fail("a non-empty str")
    return _clean(value)


def _clean(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _format_period(value: Any, fail) -> str:
    if isinstance(value, str):
        try:
            value = Period.parse(value)
        except ValueError:
            raise fail("a Period or 'YYYY-MM'") from None
    if not isinstance(value, Period):
        raise fail("a Period or 'YYYY-MM'")
    from babel.dates import format_date

    return format_date(value.first_day(), format="MMMM y", locale="id_ID")


_BILL_KEYS = ("periode", "jumlah", "jatuh_tempo", "kode_bayar")


def _format_bills(value: Any, fail) -> str:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise fail("a non-empty list of bills")
    lines = []
    for bill in value:
        if not isinstance(bill, Mapping) or set(bill) != set(_BILL_KEYS):
            raise fail(f"a list of bills, each with exactly {', '.join(_BILL_KEYS)}")
        period = _format_period(bill["periode"], fail)
        amount, due, code = bill["jumlah"], bill["jatuh_tempo"], bill["kode_bayar"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise fail("bills whose 'jumlah' is an int of rupiah")
        if isinstance(due, datetime) or not isinstance(due, date):
            raise fail("bills whose 'jatuh_tempo' is a datetime.date")
        if not isinstance(code, str) or not code.strip():
            raise fail("bills whose 'kode_bayar' is a non-empty str")
        lines.append(f"{period} {format_rupiah(amount)}, jatuh tempo "
                     f"{format_date_long(due)}, kode bayar {_clean(code)}")
    return "; ".join(f"{i}) {line}" for i, line in enumerate(lines, start=1))
