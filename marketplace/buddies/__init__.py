"""Budget buddies: people who hold a personal budget helping newcomers who are starting out."""
