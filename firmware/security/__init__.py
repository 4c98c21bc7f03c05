"""Security (OCPP 1.6 Security Whitepaper): certificates, the charge point's key pair, signed firmware."""
