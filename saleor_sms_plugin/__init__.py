"""Post-purchase text messages for Saleor stores."""

__version__ = "0.1.0"
