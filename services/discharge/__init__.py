"""Discharge to assess tracking for the hospital discharge hub: the journey of each person who
no longer meets the criteria to reside, from identification to the assessment after discharge,
their delays and the live board. Owns no resource: D2A episodes, determinations, assessments
and notifications live in the shared care record, written through the gateway.
"""
