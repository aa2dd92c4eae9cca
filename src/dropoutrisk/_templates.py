"""Jinja2 templates shipped with the package: the one place their environment is made.

Every template renders with :class:`jinja2.StrictUndefined` (a missing value
is an error, never an empty string) from its package's ``templates`` folder.
Environments are cached, so a batch of student reports builds one. This
module imports no other dropoutrisk module.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["render"]


@functools.cache
def _environment(package: str, autoescape: bool, trim: bool, keep_trailing_newline: bool) -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=trim,
        lstrip_blocks=trim,
        keep_trailing_newline=keep_trailing_newline,
    )


def render(package: str, name: str, *, autoescape: bool = True, trim: bool = True,
           keep_trailing_newline: bool = False, filters: dict[str, Any] | None = None,
           **context: Any) -> str:
    """Render the template ``name`` of ``package``'s ``templates`` folder with ``context``.

    ``trim`` strips the line after a block tag and the white space before it;
    ``filters`` are added for this call only.

    Examples
    --------
    >>> text = render("dropoutrisk.report", "evaluate.html.j2", filters={"fmt": str})
    Traceback (most recent call last):
    ...
    jinja2.exceptions.UndefinedError: 'model_id' is undefined
    """
    env = _environment(package, autoescape, trim, keep_trailing_newline)
    if filters:
        env = env.overlay()
        env.filters.update(filters)
    return env.get_template(name).render(**context)
