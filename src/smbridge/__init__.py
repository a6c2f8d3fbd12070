"""smbridge: the retailer's side of the SberMarket (Kuper) marketplace integration."""

__version__ = "0.1.0"
