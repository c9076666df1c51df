"""Fixtures that give tests an iRODS zone: irods-lite, or a real zone named by IRODS_* variables."""
