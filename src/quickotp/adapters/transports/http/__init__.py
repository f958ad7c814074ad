"""HTTP upstream providers (Amoot, Kavenegar): their URLs, calls and report polling."""
