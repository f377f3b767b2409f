"""The single point of access (services/triage): every referral, from whichever door, gets the
same primary triage and is routed to the right service, on the clock.

It owns its decision table (data, versioned) and the rules that read it; it keeps no copy of
any resource: referrals, Tasks and decisions live in the shared care record, written through
the gateway with the service's own credentials. It learns of new referrals by Subscription.
"""
