"""Patient identity: is this person already in the record?

Pure functions, no I/O. ``demographics`` reads the identifying facts out of a Patient,
``similarity`` compares names, dates, postcodes and phone numbers the way people get them
wrong, and ``scoring`` weighs the evidence into a score and a FHIR match grade (certain,
probable, possible, certainly-not). ``Patient/$match`` (services/record/operations/match.py)
finds the candidates and calls ``scoring.score``; nothing here ever links two records.
"""
