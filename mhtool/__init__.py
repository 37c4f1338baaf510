"""mhtool: screening, dossiers, referrals and reports for a university counseling center."""

__version__ = "0.1.0"
