# Example Terraform for the demo: a shop's database and storage, with some mistakes.
provider "aws" {
  region = "eu-west-1"
}

resource "aws_s3_bucket" "customer_exports" {
  bucket = "demo-shop-customer-exports"
}

resource "aws_db_instance" "orders" {
  identifier              = "demo-shop-orders"
  engine                  = "postgres"
  instance_class          = "db.t3.micro"
  allocated_storage       = 20
  storage_encrypted       = false
  backup_retention_period = 1
  publicly_accessible     = true
  username                = "shop"
  manage_master_user_password = true
}

resource "aws_backup_vault" "main" {
  name = "demo-shop-backups"
}

# Nightly backups that never leave eu-west-1 or this account: IAC-BACKUP-COPY fails.
resource "aws_backup_plan" "nightly" {
  name = "demo-shop-nightly"
  rule {
    rule_name         = "nightly"
    target_vault_name = aws_backup_vault.main.name
    schedule          = "cron(0 3 * * ? *)"
  }
}
