package org.caasdevops.petclinic;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.Properties;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * The database connection, from the environment: DB_HOST, DB_PORT, DB_NAME, DB_USER and
 * DB_PASSWORD_FILE (a Swarm/Compose or Kubernetes secret mounted as a file; the password is
 * never taken from a plain variable). Before the pool is made, the application waits for the
 * database (up to DB_WAIT_SECONDS, default 300), logging each attempt.
 */
@Configuration(proxyBeanMethods = false)
public class DatabaseConfig {

	/* loaded from the application's class loader: DriverManager, in Tomcat, only sees drivers
	   of the server's own class path */
	private static final String DRIVER = "org.mariadb.jdbc.Driver";

	private static final Logger log = LoggerFactory.getLogger(DatabaseConfig.class);

	@Bean
	public DataSource dataSource(Environment env) throws IOException, InterruptedException, ReflectiveOperationException {
		String host = env.getProperty("DB_HOST", "localhost");
		String port = env.getProperty("DB_PORT", "3306");
		String name = env.getProperty("DB_NAME", "petclinic");
		String user = env.getProperty("DB_USER", "petclinic");
		String pwFile = env.getProperty("DB_PASSWORD_FILE", "/run/secrets/db_password");
		int waitSeconds = Integer.parseInt(env.getProperty("DB_WAIT_SECONDS", "300"));
		String password = readPassword(Path.of(pwFile));
		String url = "jdbc:mariadb://" + host + ":" + port + "/" + name;

		waitForDatabase(url, user, password, waitSeconds);

		HikariConfig config = new HikariConfig();
		config.setDriverClassName(DRIVER);
		config.setJdbcUrl(url);
		config.setUsername(user);
		config.setPassword(password);
		config.setMaximumPoolSize(Integer.parseInt(env.getProperty("DB_POOL_SIZE", "5")));
		config.setPoolName("petclinic");
		return new HikariDataSource(config);
	}

	private static String readPassword(Path file) throws IOException {
		try {
			String s = Files.readString(file, StandardCharsets.UTF_8);
			int nl = s.indexOf('\n');
			return nl >= 0 ? s.substring(0, nl) : s;
		} catch (IOException e) {
			throw new IOException("DB_PASSWORD_FILE " + file + ": cannot read the database password", e);
		}
	}

	private static void waitForDatabase(String url, String user, String password, int seconds)
			throws InterruptedException, ReflectiveOperationException {
		Driver driver = (Driver) Class.forName(DRIVER).getDeclaredConstructor().newInstance();
		long deadline = System.nanoTime() + seconds * 1_000_000_000L;
		Properties props = new Properties();
		props.setProperty("user", user);
		props.setProperty("password", password);
		props.setProperty("connectTimeout", "2000");
		for (int attempt = 1;; attempt++) {
			try (Connection c = driver.connect(url, props)) {
				if (attempt > 1)
					log.info("database {} answers (attempt {})", url, attempt);
				return;
			} catch (SQLException e) {
				if (System.nanoTime() > deadline)
					throw new IllegalStateException("database " + url + " did not answer within "
							+ seconds + " s: " + e.getMessage(), e);
				log.info("waiting for the database {} (attempt {}): {}", url, attempt, e.getMessage());
				Thread.sleep(2000);
			}
		}
	}
}
