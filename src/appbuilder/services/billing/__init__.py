"""Billing with Stripe: checkout and the customer portal (``checkout``), the state a user
sees (``state``), and the webhook that moves a user's tier and status (``webhooks``).

Stripe is the source of truth for paid subscriptions; a tier granted by a super admin
holds until a newer Stripe event for that user says otherwise. Limits follow from the
state through ``services.quotas.effective_tier``.
"""
