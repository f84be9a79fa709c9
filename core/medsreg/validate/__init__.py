"""Validation: the checks a contribution must pass, their registry, runner and reporters.

One module per family of checks (structure of files, content of tasks, vocabularies,
the collection as a whole, plugin folders). Importing this package registers nothing;
``validate.runner`` imports the check modules.
"""
