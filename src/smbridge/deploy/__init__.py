"""What runs the system on machines: the nginx front, certificates, rolling restarts."""
