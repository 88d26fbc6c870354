"""Channel senders and audience sync; today the dry-run outbox every message is rendered into."""
