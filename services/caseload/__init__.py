"""Proactive case management (services/caseload, DOMAIN.md point 2): find the people most at
risk, give each a named case manager in their integrated neighbourhood team, and keep them
there fairly when case managers come and go.

It owns the electronic Frailty Index deficit table (data, versioned) and the pure rules of case
finding (``frailty``: the eFI, the use of urgent care, the RiskAssessment, the ordered list of
candidates) and of allocation (``allocation``: auto-allocation, a lead's override,
rebalancing). Those modules do no I/O beyond reading the table and know nothing of HTTP or the
database; the service around them reads and writes the shared care record through the gateway.
The eFI never enrols anyone: enrolment needs a clinician's confirmation.
"""
