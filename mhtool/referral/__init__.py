"""Referrals to hospitals (转介) and the hospitals directory."""
