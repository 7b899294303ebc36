-- The first owners, pets and visits; INSERT IGNORE with fixed ids: running it again (a restart,
-- a second replica) changes nothing.
INSERT IGNORE INTO owners (id, first_name, last_name, address, city, telephone) VALUES
  (1, 'George', 'Franklin', '110 W. Liberty St.', 'Madison', '6085551023'),
  (2, 'Betty', 'Davis', '638 Cardinal Ave.', 'Sun Prairie', '6085551749'),
  (3, 'Eduardo', 'Rodriquez', '2693 Commerce St.', 'McFarland', '6085558763'),
  (4, 'Harold', 'Davis', '563 Friendly St.', 'Windsor', '6085553198'),
  (5, 'Peter', 'McTavish', '2387 S. Fair Way', 'Madison', '6085552765'),
  (6, 'Jean', 'Coleman', '105 N. Lake St.', 'Monona', '6085552654');
INSERT IGNORE INTO pets (id, owner_id, name, type, birth_date) VALUES
  (1, 1, 'Leo', 'cat', '2020-09-07'),
  (2, 2, 'Basil', 'hamster', '2022-08-06'),
  (3, 3, 'Rosy', 'dog', '2021-04-17'),
  (4, 3, 'Jewel', 'dog', '2020-03-07'),
  (5, 4, 'Iggy', 'lizard', '2020-11-30'),
  (6, 5, 'George', 'snake', '2020-01-20'),
  (7, 6, 'Samantha', 'cat', '2022-09-04'),
  (8, 6, 'Max', 'cat', '2022-09-04');
INSERT IGNORE INTO visits (id, pet_id, visit_date, description) VALUES
  (1, 7, '2025-03-04', 'rabies shot'),
  (2, 8, '2025-03-04', 'rabies shot'),
  (3, 8, '2025-06-04', 'neutered'),
  (4, 7, '2025-09-04', 'spayed');
