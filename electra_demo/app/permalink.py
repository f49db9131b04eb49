"""The shareable link: ONE table of URL keys, read when a page opens and written after every change, here only.

Each tab declares its own keys (`{key: component}` on what it hands the page); the page gathers them into a `Table`.
A value read from a URL is checked against its component (a slider's range, a menu's choices, a text box's length):
anything else (`pads=²`, a 5,000-digit number, an unknown tab) is ignored and the control keeps its default, so a
bad link never stops the page from opening. A key whose value is the control's default is left out of the link.
"""
import json
import re

import gradio as gr

_WHOLE = re.compile(r"-?[0-9]{1,9}")  # ASCII digits only: '²'.isdigit() is True, int('²') raises
MAX_URL_TEXT = 2_000  # characters of a typed text that go into a link (longer texts stay out: servers cap URLs)
ALIASES = {"pooling": "attr_pooling"}  # keys of older links
TAB_ALIASES = {"similarity-vs-probe": "similarity", "pooling-mismatch": "mismatch"}  # tab slugs of older links


class Table:
    """{URL key: component}, in one place: `read` turns a URL's query into component values, `js` writes them back."""

    def __init__(self, tabs: gr.Tabs, tab_ids: list[str]):
        self.tabs, self.tab_ids = tabs, tab_ids
        self.keys: dict[str, gr.components.Component] = {}
        self.defaults: dict[str, object] = {}

    def add(self, keys: dict):
        for key, component in keys.items():
            if key in self.keys or key == "tab":
                raise ValueError(f"URL key {key!r} is declared twice")
            self.keys[key] = component
            self.defaults[key] = component.value

    @property
    def components(self) -> list:
        return list(self.keys.values())

    def read(self, params: dict, maxima: dict | None = None) -> dict:
        """{component or 'tab': value} for every valid key of `params`; `maxima` {component: max} overrides a
        slider's range (another model in the menu has fewer layers)."""
        params = {ALIASES.get(k, k): v for k, v in params.items()}
        out = {}
        tab = TAB_ALIASES.get(params.get("tab"), params.get("tab"))
        if tab in self.tab_ids:
            out["tab"] = tab
        for key, c in self.keys.items():
            if key in params:
                value = _checked(c, params[key], (maxima or {}).get(c))
                if value is not None:
                    out[c] = value
        return out

    def js(self) -> str:
        """The browser side: (values of `components`, in order) -> the URL's query, defaults left out."""
        names = json.dumps(list(self.keys))
        defaults = json.dumps({k: _plain(v) for k, v in self.defaults.items()})
        return (f"(...vals) => {{ const names = {names}, defaults = {defaults}, out = {{}};"
                f" names.forEach((k, i) => {{ const v = vals[i];"
                f" out[k] = (v === null || v === undefined || String(v) === String(defaults[k])"
                f" || String(v).length > {MAX_URL_TEXT}) ? '' : v; }});"
                " window.electraSync(out); window.electraResize(); }")


def _plain(v):
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


def _checked(c, raw, maximum=None):
    """`raw` (a URL value) as a value `c` takes, or None."""
    if not isinstance(raw, str):
        return None
    if isinstance(c, gr.Slider):
        if not _WHOLE.fullmatch(raw):
            return None
        v = int(raw)
        top = c.maximum if maximum is None else maximum
        return v if c.minimum <= v <= top else None
    if isinstance(c, (gr.Dropdown, gr.Radio)):
        values = [ch[1] if isinstance(ch, tuple) else ch for ch in c.choices]
        return raw if raw in values else None
    if isinstance(c, gr.Textbox):
        limit = c.max_length or MAX_URL_TEXT
        return raw[:limit]
    raise TypeError(f"no URL reading for {type(c).__name__}")
