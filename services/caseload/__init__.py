"""Proactive case management (services/caseload, DOMAIN.md point 2): find the people most at
risk, give each a named case manager in their integrated neighbourhood team, a plan and planned
contact, and keep them there fairly when case managers come and go.

Pure rules: ``deficits`` and ``frailty`` (the electronic Frailty Index from a versioned deficit
table, the RiskAssessment, the ordered candidates), ``urgent_care``, ``allocation``
(auto-allocation, a lead's override, rebalancing), ``touchpoints`` and ``teams`` (how the
record holds teams and caseloads). The service around them (``casefinding``, ``enrolment``,
``rebalancing``, ``careplans``, ``mdt``, ``alerts``, ``views``, ``app``) reads and writes the
shared care record through the gateway and keeps nothing of its own. The eFI never enrols
anyone: enrolment needs a clinician's confirmation.
"""
