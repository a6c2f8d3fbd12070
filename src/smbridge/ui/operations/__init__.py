"""Operations and admin pages (/ui/ops): dead letters, webhooks, statuses, stores, pickers,
chats, tokens, monitoring rules and job runs, for the operations and admin roles."""
