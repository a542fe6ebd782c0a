"""AWX / Ansible Automation Platform: what the controller is configured with, derived from
the inventory (schedules inside each store's window, survey specs). Registered with the CLI
by entry point (``storeops awx``); runs on the workstation or in the configuration job."""
