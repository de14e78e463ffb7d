CREATE TABLE payments (
  id serial PRIMARY KEY,
  card_number varchar(19),
  cvv varchar(4),
  created_at timestamp
);
