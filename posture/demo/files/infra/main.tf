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

# Backups exist, but they never leave eu-west-1 or this account: a regional outage or a stolen
# admin key takes the data and its backups together (IAC-BACKUP-PLAN-NO-COPY).
resource "aws_backup_vault" "main" {
  name = "demo-shop-backups"
}

resource "aws_backup_plan" "nightly" {
  name = "demo-shop-nightly"
  rule {
    rule_name         = "nightly"
    target_vault_name = aws_backup_vault.main.name
    schedule          = "cron(0 3 * * ? *)"
  }
}

resource "aws_backup_selection" "orders" {
  name         = "orders"
  iam_role_arn = "arn:aws:iam::123456789012:role/backup"
  plan_id      = aws_backup_plan.nightly.id
  resources    = [aws_db_instance.orders.arn]
}
