"""Reading what a page shows, for the tests of the pages."""
import re


def field_errors(html: str) -> list[str]:
    """The errors a form shows beside its fields (and above them)."""
    return re.findall(r'<div class="field-error">([^<]*)</div>', html)
