"""Merging two Patient records into one, and undoing a merge (``Patient/$merge``,
``Patient/$unmerge``).

Pure rules, without I/O and unit tested: ``rewriting`` (references to one patient made
references to another, anywhere in a resource), ``diffing`` (what a write changed, path by
path, and putting it back), ``linking`` (the Patient.link and active rules of a merge),
``parameters`` (the operations' Parameters in and out) and ``provenance`` (the Provenance a
merge or un-merge leaves). ``merger`` and ``unmerger`` read and write, through the record's
``RecordWriter``, inside one transaction (``transaction``). HTTP stays in
``services.record.operations``; SQL stays in ``shared.storage``.
"""
