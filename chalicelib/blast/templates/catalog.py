"""Message templates as data: one TOML file per template in this directory, checked on load.

A template file says what WhatsApp needs to send an approved template (name, language,
category, a body whose parameters are positional {{1}}, {{2}}, ..., an optional document
header and an optional URL button) and what SMS needs (a short text variant). Texts use
named placeholders, `{nama}`; `body_params` fixes the WhatsApp position of each body
placeholder, so the mapping name -> position is reviewed data, never inferred.

Templates whose `whatsapp` mode is "text" are answers sent inside the 24-hour customer
service window (replies to a keyword): WhatsApp receives them as plain text messages, and
they need no approval by Meta.

The loader refuses a catalog with any problem and lists every problem it found, so a bad
edit fails the test suite and the cold start, not one participant's message at 2 a.m.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..sms import non_gsm7_characters, segments

TEMPLATE_DIR = Path(__file__).resolve().parent

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_STRAY_BRACE = re.compile(r"[{}]")

# Limits from Meta's template rules: an approved body holds at most 1,024 characters; a
# free-form text message at most 4,096.
WHATSAPP_TEMPLATE_BODY_MAX = 1024
WHATSAPP_TEXT_BODY_MAX = 4096


class TemplateError(ValueError):
    """The template catalog is invalid. `problems` lists every finding."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid message templates:\n  - " + "\n  - ".join(self.problems))


class ParamType(str, Enum):
    TEXT = "text"          # str, whitespace collapsed
    AMOUNT = "amount"      # int rupiah -> "Rp16.800"
    DATE = "date"          # datetime.date -> "15 Desember 2026"
    PERIOD = "period"      # Period or "YYYY-MM" -> "November 2026"
    NUMBER = "number"      # int count -> "3", "1.250"
    URL = "url"            # https URL, no whitespace
    LIST = "list"          # non-empty list of str -> "1) ...; 2) ..."
    BILLS = "bills"        # non-empty list of {periode, jumlah, jatuh_tempo, kode_bayar}


class Category(str, Enum):
    UTILITY = "UTILITY"
    MARKETING = "MARKETING"
    AUTHENTICATION = "AUTHENTICATION"


class WhatsAppMode(str, Enum):
    TEMPLATE = "template"  # approved template message, allowed outside the service window
    TEXT = "text"          # free-form reply inside the 24-hour customer service window


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    example: Any


@dataclass(frozen=True)
class DocumentHeader:
    """A document header: the PDF link and the file name WhatsApp shows come from params."""

    link_param: str
    filename_param: str


@dataclass(frozen=True)
class UrlButton:
    """A URL button whose approved URL ends with one variable suffix: `url_prefix` + value."""

    text: str
    url_prefix: str
    suffix_param: str


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    category: Category
    whatsapp_mode: WhatsAppMode
    description: str
    body: str
    sms: str
    params: tuple[Param, ...]
    body_params: tuple[str, ...]
    header: DocumentHeader | None
    button: UrlButton | None
    sms_max_segments: int
    source: str

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def position(self, name: str) -> int:
        """WhatsApp body position (1-based) of a named body parameter."""
        return self.body_params.index(name) + 1

    def whatsapp_body_text(self) -> str:
        """The body as registered with Meta: named placeholders become {{1}}, {{2}}, ..."""
        if self.whatsapp_mode is WhatsAppMode.TEXT:
            return self.body
        return PLACEHOLDER.sub(lambda m: "{{%d}}" % self.position(m.group(1)), self.body)

    def examples(self) -> dict[str, Any]:
        return {p.name: p.example for p in self.params}


class TemplateCatalog(Mapping[str, Template]):
    def __init__(self, templates: Mapping[str, Template]):
        self._templates = dict(templates)

    def __getitem__(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise KeyError(f"unknown message template {name!r}; known: "
                           f"{', '.join(sorted(self._templates))}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._templates)

    def __len__(self) -> int:
        return len(self._templates)


# --- loading -----------------------------------------------------------------------------

_TOP_KEYS = {"name", "language", "category", "whatsapp", "description", "body", "sms",
             "sms_max_segments", "body_params", "params", "header", "button"}


def load_catalog(directory: Path | str | None = None) -> TemplateCatalog:
    """Read and check every `*.toml` template in `directory` (default: this package)."""
    folder = Path(directory) if directory is not None else TEMPLATE_DIR
    files = sorted(folder.glob("*.toml"))
    problems: list[str] = []
    if not files:
        raise TemplateError([f"no *.toml templates found in {folder}"])
    templates: dict[str, Template] = {}
    for path in files:
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{path.name}: not valid TOML: {exc}")
            continue
        template, found = _build(path.name, data)
        problems.extend(found)
        if template is None:
            continue
        if template.name in templates:
            problems.append(f"{path.name}: template name {template.name!r} is already "
                            f"defined in {templates[template.name].source}")
            continue
        templates[template.name] = template
    if problems:
        raise TemplateError(problems)
    return TemplateCatalog(templates)


def _build(source: str, data: dict[str, Any]) -> tuple[Template | None, list[str]]:
    problems: list[str] = []

    def problem(text: str) -> None:
        problems.append(f"{source}: {text}")

    for key in sorted(set(data) - _TOP_KEYS):
        problem(f"unknown key {key!r}")

    def text_field(key: str, required: bool = True) -> str:
        value = data.get(key)
        if value is None:
            if required:
                problem(f"missing {key!r}")
            return ""
        if not isinstance(value, str) or not value.strip():
            problem(f"{key!r} must be a non-empty string")
            return ""
        return value

    name = text_field("name")
    if name and not _NAME.match(name):
        problem(f"name {name!r} must be lowercase letters, digits and underscores")
    if name and Path(source).stem != name:
        problem(f"file name must be {name}.toml")
    language = text_field("language")
    description = text_field("description", required=False)
    body = text_field("body").strip("\n")
    sms = text_field("sms").strip()

    category = _enum(Category, data.get("category"), "category", problem)
    mode = _enum(WhatsAppMode, data.get("whatsapp", "template"), "whatsapp", problem)

    sms_max_segments = data.get("sms_max_segments", 2)
    if not isinstance(sms_max_segments, int) or isinstance(sms_max_segments, bool) \
            or sms_max_segments < 1:
        problem("'sms_max_segments' must be a positive integer")
        sms_max_segments = 2

    params = _params(data.get("params", []), problem)
    declared = {p.name for p in params}

    body_params_raw = data.get("body_params", [])
    if not isinstance(body_params_raw, list) or not all(isinstance(x, str) for x in body_params_raw):
        problem("'body_params' must be a list of parameter names")
        body_params_raw = []
    body_params = tuple(body_params_raw)
    if len(set(body_params)) != len(body_params):
        problem("'body_params' names a parameter twice")
    for param_name in body_params:
        if param_name not in declared:
            problem(f"body parameter {param_name!r} is not declared in [[params]]")

    body_used = _placeholders(body, "body", problem)
    sms_used = _placeholders(sms, "sms", problem)
    for param_name in sorted(set(body_used) - declared):
        problem(f"body uses undeclared placeholder {{{param_name}}}")
    for param_name in sorted(set(sms_used) - declared):
        problem(f"sms uses undeclared placeholder {{{param_name}}}")
    for param_name in sorted(set(body_used) - set(body_params)):
        if param_name in declared:
            problem(f"body placeholder {{{param_name}}} is missing from 'body_params'")
    for param_name in body_params:
        count = body_used.count(param_name)
        if count == 0:
            problem(f"body parameter {param_name!r} does not appear in the body")
        elif count > 1 and mode is WhatsAppMode.TEMPLATE:
            problem(f"body parameter {{{param_name}}} appears {count} times; a WhatsApp "
                    "position is used once")
    # Same facts on both channels: whatever the WhatsApp body says, the SMS says too.
    for param_name in body_params:
        if param_name in declared and param_name not in sms_used:
            problem(f"sms does not mention {{{param_name}}}, which the body carries")

    if mode is WhatsAppMode.TEMPLATE and body:
        stripped = body.strip()
        if PLACEHOLDER.match(stripped) or re.search(r"\{[a-z][a-z0-9_]*\}$", stripped):
            problem("a template body may not start or end with a parameter (Meta rule)")
        if re.search(r"\}\s*\{", body):
            problem("two parameters side by side are refused by Meta; put words between")
        limit = WHATSAPP_TEMPLATE_BODY_MAX
    else:
        limit = WHATSAPP_TEXT_BODY_MAX
    if len(body) > limit:
        problem(f"body has {len(body)} characters, more than WhatsApp's {limit}")

    header = _header(data.get("header"), declared, mode, params, problem)
    button = _button(data.get("button"), declared, mode, params, problem)

    used_anywhere = set(body_used) | set(sms_used)
    if header:
        used_anywhere |= {header.link_param, header.filename_param}
    if button:
        used_anywhere.add(button.suffix_param)
    for param_name in sorted(declared - used_anywhere):
        problem(f"parameter {param_name!r} is declared but used nowhere")

    if problems:
        return None, problems

    template = Template(
        name=name, language=language, category=category, whatsapp_mode=mode,
        description=description, body=body, sms=sms, params=params, body_params=body_params,
        header=header, button=button, sms_max_segments=sms_max_segments, source=source,
    )
    problems.extend(_check_examples(template))
    if problems:
        return None, problems
    return template, []


def _enum(kind: type[Enum], value: Any, key: str, problem) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)  # type: ignore[attr-defined]
        problem(f"{key!r} is {value!r}; expected one of {allowed}")
        return next(iter(kind))  # type: ignore[call-overload]


def _params(raw: Any, problem) -> tuple[Param, ...]:
    if not isinstance(raw, list):
        problem("'params' must be an array of tables ([[params]])")
        return ()
    params: list[Param] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            problem(f"params #{index} must be a table")
            continue
        extra = set(entry) - {"name", "type", "example"}
        if extra:
            problem(f"params #{index} has unknown keys {sorted(extra)}")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            problem(f"params #{index} needs a 'name' of lowercase letters, digits, underscores")
            continue
        if name in seen:
            problem(f"parameter {name!r} is declared twice")
            continue
        seen.add(name)
        try:
            kind = ParamType(entry.get("type"))
        except ValueError:
            problem(f"parameter {name!r} has type {entry.get('type')!r}; expected one of "
                    + ", ".join(t.value for t in ParamType))
            continue
        if "example" not in entry:
            problem(f"parameter {name!r} needs an 'example' (Meta asks for one at approval)")
            continue
        params.append(Param(name=name, type=kind, example=entry["example"]))
    return tuple(params)


def _placeholders(text: str, where: str, problem) -> list[str]:
    found = PLACEHOLDER.findall(text)
    leftover = PLACEHOLDER.sub("", text)
    if _STRAY_BRACE.search(leftover):
        problem(f"{where} has a brace that is not a {{placeholder}} (lowercase name in braces)")
    return found


def _header(raw: Any, declared: set[str], mode: WhatsAppMode, params, problem) -> DocumentHeader | None:
    if raw is None:
        return None
    if mode is not WhatsAppMode.TEMPLATE:
        problem("a header needs whatsapp = \"template\"")
        return None
    if not isinstance(raw, dict) or raw.get("type") != "document":
        problem("[header] supports type = \"document\" only")
        return None
    link, filename = raw.get("link"), raw.get("filename")
    ok = True
    for key, value in (("link", link), ("filename", filename)):
        if not isinstance(value, str) or value not in declared:
            problem(f"[header] {key} must name a declared parameter")
            ok = False
    if ok and _param_type(params, link) is not ParamType.URL:
        problem("[header] link parameter must have type \"url\"")
        ok = False
    return DocumentHeader(link_param=link, filename_param=filename) if ok else None


def _button(raw: Any, declared: set[str], mode: WhatsAppMode, params, problem) -> UrlButton | None:
    if raw is None:
        return None
    if mode is not WhatsAppMode.TEMPLATE:
        problem("a button needs whatsapp = \"template\"")
        return None
    if not isinstance(raw, dict) or raw.get("type") != "url":
        problem("[button] supports type = \"url\" only")
        return None
    text, url = raw.get("text"), raw.get("url")
    if not isinstance(text, str) or not 0 < len(text) <= 25:
        problem("[button] text must be 1 to 25 characters")
        return None
    match = re.fullmatch(r"(https://[^\s{}]+)\{([a-z][a-z0-9_]*)\}", url or "")
    if not match:
        problem("[button] url must be https://... ending with exactly one {parameter}")
        return None
    prefix, suffix = match.group(1), match.group(2)
    if suffix not in declared:
        problem(f"[button] url uses undeclared parameter {{{suffix}}}")
        return None
    return UrlButton(text=text, url_prefix=prefix, suffix_param=suffix)


def _param_type(params, name: str) -> ParamType | None:
    for param in params:
        if param.name == name:
            return param.type
    return None


def _check_examples(template: Template) -> list[str]:
    """Render the template with its own examples: every example must be a valid value, and
    the SMS must stay GSM-7 within its segment budget (UCS-2 would cost 2-3x per message)."""
    from ..rendering import render_template  # local: rendering imports this module

    try:
        rendered = render_template(template, template.examples())
    except ValueError as exc:
        return [f"{template.source}: examples do not render: {exc}"]
    problems = []
    bad = non_gsm7_characters(rendered.sms_text)
    if bad:
        problems.append(f"{template.source}: sms text is not GSM-7 (characters {bad!r}); "
                        "it would be sent as UCS-2 at 70 characters per segment")
    encoding = segments(rendered.sms_text)
    if encoding.segments > template.sms_max_segments:
        problems.append(f"{template.source}: sms with examples takes {encoding.segments} "
                        f"segments ({encoding.length} septets), more than "
                        f"sms_max_segments = {template.sms_max_segments}")
    return problems

