"""The one error type of templates, so that callers catch parse and execution errors alike."""


class TemplateError(Exception):
    """A template that does not parse or fails while running; the message is Go's, with the
    position (`template: :1:5: executing "" at <.Foo>: ...`)."""
