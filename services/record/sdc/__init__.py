"""services/record/sdc: Structured Data Capture, so that a person is asked once and offered back.

Owns pre-filling a Questionnaire for one person from what the record already holds
(``Questionnaire/$populate``): SDC expressions over the person and searches of the record,
linked Observations, and the person's previous answers to the same questions. Every pre-filled
answer says where it came from. It only reads the record; it must not write anything, nor
call other services.
"""
