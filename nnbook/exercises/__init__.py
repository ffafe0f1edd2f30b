"""The book's exercises, one module per chapter.

Importing a module registers its exercises with :func:`nnbook.check.register`;
:func:`nnbook.check` imports them all on first use. To add a chapter's exercises, add a
module here that builds :class:`~nnbook.check.Exercise` objects and registers them.
"""
