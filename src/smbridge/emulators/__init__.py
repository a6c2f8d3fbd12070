"""Stand-ins for the outside world («тестовый контур»): SberMarket and Telegram."""
